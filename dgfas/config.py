"""Typed hyper-parameters: dataclasses with defaults, overridden strictly.

An override with an unknown key or a value of the wrong type is an error,
never a silent ``dict.update``: a typo in a sweep must not run the defaults.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Mapping, TypeVar

from dgfas.errors import DgfasError

C = TypeVar("C")


def _coerce(owner: str, key: str, value: Any, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        if value not in choices:
            raise DgfasError(f"{owner}.{key} must be one of {list(choices)}, got {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise DgfasError(f"{owner}.{key} must be a list, got {value!r}")
        (item_type, *_) = typing.get_args(annotation) or (Any,)
        items = [_coerce(owner, key, v, item_type) for v in value]
        return origin(items)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise DgfasError(f"{owner}.{key} must be a bool, got {value!r}")
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise DgfasError(f"{owner}.{key} must be an int, got {value!r}")
        try:
            return int(value)
        except ValueError:
            raise DgfasError(f"{owner}.{key} must be an int, got {value!r}") from None
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise DgfasError(f"{owner}.{key} must be a float, got {value!r}")
        try:
            return float(value)
        except ValueError:
            raise DgfasError(f"{owner}.{key} must be a float, got {value!r}") from None
    if annotation is str:
        if not isinstance(value, str):
            raise DgfasError(f"{owner}.{key} must be a string, got {value!r}")
        return value
    return value


def with_overrides(config: C, overrides: Mapping[str, Any]) -> C:
    """Return a copy of ``config`` (a dataclass instance) with ``overrides`` applied.

    String values (as they arrive from ``--set key=value``) are parsed to the
    field's type; anything that does not fit raises :class:`DgfasError`.
    """
    cls = type(config)
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise DgfasError(f"unknown {cls.__name__} key(s) {unknown}; valid: {sorted(fields)}")
    parsed = {k: _coerce(cls.__name__, k, v, hints[k]) for k, v in overrides.items()}
    return dataclasses.replace(config, **parsed)


def parse_assignments(items: list[str]) -> dict[str, str]:
    """Parse ``["lr=0.1", "steps=5"]`` into a dict; a missing ``=`` is an error."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise DgfasError(f"override {item!r} is not of the form key=value")
        out[key.strip()] = value.strip()
    return out


def as_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)
