"""Typed hyper-parameters: dataclasses with defaults, overridden strictly, each value checked.

An override with an unknown key or a value of the wrong type is an error,
never a silent ``dict.update``: a typo in a sweep must not run the defaults.
Each field says what it allows next to its default (:func:`setting`), and
:func:`with_overrides`, the one path by which a job's settings are resolved,
checks every field against it, so ``trainer.steps=-5`` or ``algorithm.lr=nan``
is one line naming the setting, the value and what is allowed, before any
data is built or any run is logged.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Mapping, TypeVar

from dgfas.errors import DgfasError

C = TypeVar("C")

#: The key of a field's :class:`Allowed` in its ``dataclasses.field`` metadata.
ALLOWED = "allowed"


@dataclass(frozen=True)
class Allowed:
    """What one setting may be: a finite number within bounds, or one of some names.

    Attributes:
        at_least: smallest value allowed (give this or ``above``).
        above: the value must be greater than this (a rate, a width).
        at_most: largest value allowed.
        choices: the names allowed (a tuple, or a :class:`~dgfas.registry.Registry`,
            looked up when checked so that plugins' entries count).
        why: the reason for a bound that is not obvious, quoted in the error.
    """

    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    choices: Collection[str] | None = None
    why: str = ""

    def allows(self, value: Any) -> bool:
        if self.choices is not None:
            return isinstance(value, str) and value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        return ((self.at_least is None or value >= self.at_least) and (self.above is None or value > self.above)
                and (self.at_most is None or value <= self.at_most))

    def describe(self, kind: str) -> str:
        """What passes, for values of ``kind``: ``an integer >= 1``, ``a finite number in (0, 1]``, ``one of [...]``."""
        if self.choices is not None:
            text = f"one of {list(self.choices)}"
        else:
            inclusive = self.at_least is not None
            low = self.at_least if inclusive else self.above
            if low is not None and self.at_most is not None:
                text = f"{kind} in {'[' if inclusive else '('}{_number(low)}, {_number(self.at_most)}]"
            elif low is not None:
                text = f"{kind} {'>=' if inclusive else '>'} {_number(low)}"
            elif self.at_most is not None:
                text = f"{kind} <= {_number(self.at_most)}"
            else:
                text = kind
        return f"{text} ({self.why})" if self.why else text


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def setting(
    default: Any = dataclasses.MISSING,
    *,
    at_least: float | None = None,
    above: float | None = None,
    at_most: float | None = None,
    choices: Collection[str] | None = None,
    why: str = "",
) -> Any:
    """A config field with its default and what it allows: ``lr: float = setting(1e-3, above=0)``.

    A field without a default (``steps: int = setting(at_least=1)``) is one
    every caller must give, such as the trainer's preset-given step counts.
    """
    allowed = Allowed(at_least=at_least, above=above, at_most=at_most, choices=choices, why=why)
    return dataclasses.field(default=default, metadata={ALLOWED: allowed})


def allowed_of(cls: type, name: str) -> Allowed | None:
    """What field ``name`` of config class ``cls`` allows; None where it declares nothing."""
    return next(f.metadata.get(ALLOWED) for f in dataclasses.fields(cls) if f.name == name)


#: How a field's type is named in messages: a number is always finite.
_KINDS = {int: "an integer", float: "a finite number", bool: "true or false", str: "a string"}


def _expected(annotation: Any, allowed: Allowed | None) -> str:
    kind = _KINDS.get(annotation, str(annotation))
    return allowed.describe(kind) if allowed is not None else kind


def _coerce(owner: str, key: str, value: Any, annotation: Any, allowed: Allowed | None) -> Any:
    def wrong() -> DgfasError:
        return DgfasError(f"{owner}.{key} must be {_expected(annotation, allowed)}, got {value!r}")

    if typing.get_origin(annotation) is typing.Literal:
        choices = typing.get_args(annotation)
        if value not in choices:
            raise DgfasError(f"{owner}.{key} must be one of {list(choices)}, got {value!r}")
        return value
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise wrong()
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise wrong()
        try:
            return int(value)
        except ValueError:
            raise wrong() from None
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise wrong()
        try:
            return float(value)
        except ValueError:
            raise wrong() from None
    if annotation is str:
        if not isinstance(value, str):
            raise wrong()
        return value
    return value


def check(config: Any, owner: str | None = None) -> None:
    """Raise a one-line :class:`DgfasError` for the first field of ``config`` that its declaration does not allow.

    A number field is always finite, whether or not it declares bounds.
    ``owner`` names the group in the message (``trainer``); by default the class.
    """
    cls = type(config)
    owner = owner or cls.__name__
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        value, allowed = getattr(config, f.name), f.metadata.get(ALLOWED)
        if allowed is None and hints[f.name] is float:
            allowed = Allowed()
        if allowed is not None and not allowed.allows(value):
            raise DgfasError(f"{owner}.{f.name} must be {_expected(hints[f.name], allowed)}, got {value!r}")


def with_overrides(config: C, overrides: Mapping[str, Any], owner: str | None = None) -> C:
    """Return a copy of ``config`` (a dataclass instance) with ``overrides`` applied, every field checked.

    String values (as they arrive from ``--set key=value``) are parsed to the
    field's type; anything that does not fit, or that the field does not
    allow (:func:`check`), raises :class:`DgfasError`. ``owner`` names the
    settings' group in messages (``algorithm``, ``model``, ``trainer``).
    """
    cls = type(config)
    owner = owner or cls.__name__
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise DgfasError(f"unknown {cls.__name__} key(s) {unknown}; valid: {sorted(fields)}")
    parsed = {k: _coerce(owner, k, v, hints[k], fields[k].metadata.get(ALLOWED)) for k, v in overrides.items()}
    result = dataclasses.replace(config, **parsed)
    check(result, owner)
    return result


def parse_assignments(items: list[str]) -> dict[str, str]:
    """Parse ``["lr=0.1", "steps=5"]`` into a dict; a missing ``=`` is an error."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise DgfasError(f"override {item!r} is not of the form key=value")
        out[key.strip()] = value.strip()
    return out
