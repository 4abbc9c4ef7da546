import dataclasses
import functools
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from dgfas.algorithms import ALGORITHMS, get_algorithm
from dgfas.config import ALLOWED, Allowed, check, parse_assignments, setting, with_overrides
from dgfas.errors import DgfasError
from dgfas.models import MODELS, get_model
from dgfas.presets import get_preset
from dgfas.registry import Registry
from dgfas.run import TrainerConfig


def test_registry_refuses_duplicates_and_lists_valid_names():
    registry: Registry[int] = Registry("widget")
    registry.register("a")(1)
    registry.add("b", 2)
    with pytest.raises(DgfasError, match="widget 'a' is already registered"):
        registry.add("a", 3)
    with pytest.raises(DgfasError, match=r"unknown widget 'c'; valid: \['a', 'b'\]"):
        registry.get("c")
    assert registry.get("b") == 2 and list(registry) == ["a", "b"] and "a" in registry


@dataclass(frozen=True)
class Example:
    lr: float = setting(0.1, above=0)
    steps: int = setting(3, at_least=1)
    share: float = setting(0.5, at_least=0, at_most=1)
    flag: bool = False
    name: str = "x"
    mode: Literal["first", "second"] = "second"
    engine: str = setting("a", choices=("a", "b"))
    scale: float = 1.0


def test_overrides_parse_strings_to_field_types():
    config = with_overrides(Example(), {"lr": "1e-3", "steps": "7", "flag": "true", "mode": "first", "engine": "b"})
    assert config == Example(lr=1e-3, steps=7, flag=True, name="x", mode="first", engine="b")


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"lrr": 1}, "unknown Example key(s) ['lrr']; valid: ['engine', 'flag', 'lr', 'mode', 'name', 'scale', 'share', "
                     "'steps']"),
        ({"steps": "1.5"}, "Example.steps must be an integer >= 1, got '1.5'"),
        ({"steps": True}, "Example.steps must be an integer >= 1, got True"),
        ({"steps": "0"}, "Example.steps must be an integer >= 1, got 0"),
        ({"lr": "fast"}, "Example.lr must be a finite number > 0, got 'fast'"),
        ({"lr": "0"}, "Example.lr must be a finite number > 0, got 0.0"),
        ({"lr": "nan"}, "Example.lr must be a finite number > 0, got nan"),
        ({"lr": "-inf"}, "Example.lr must be a finite number > 0, got -inf"),
        ({"share": "1.01"}, "Example.share must be a finite number in [0, 1], got 1.01"),
        ({"scale": "inf"}, "Example.scale must be a finite number, got inf"),  # finite even without bounds
        ({"flag": "yes"}, "Example.flag must be true or false, got 'yes'"),
        ({"name": 3}, "Example.name must be a string, got 3"),
        ({"mode": "third"}, "Example.mode must be one of ['first', 'second'], got 'third'"),
        ({"engine": "c"}, "Example.engine must be one of ['a', 'b'], got 'c'"),
    ],
)
def test_bad_overrides_are_one_line_errors_naming_setting_value_and_what_is_allowed(overrides, message):
    with pytest.raises(DgfasError) as error:
        with_overrides(Example(), overrides)
    assert str(error.value) == message


def test_the_group_names_the_setting_and_defaults_are_checked_too():
    with pytest.raises(DgfasError, match=r"^trainer\.steps must be an integer >= 1, got -5$"):
        with_overrides(Example(), {"steps": "-5"}, "trainer")
    with pytest.raises(DgfasError, match=r"^Example\.share must be a finite number in \[0, 1\], got 2$"):
        with_overrides(Example(share=2), {})  # a bad value that came from a default or preset, not an override


WIDGETS: Registry[int] = Registry("widget")
WIDGETS.add("b", 1)
WIDGETS.add("a", 2)


@pytest.mark.parametrize(
    "allowed, kind, text",
    [
        (Allowed(at_least=2, why="a live and a spoof image"), "an integer", "an integer >= 2 (a live and a spoof image)"),
        (Allowed(above=0, at_most=1), "a finite number", "a finite number in (0, 1]"),
        (Allowed(at_most=0.5), "a finite number", "a finite number <= 0.5"),
        (Allowed(choices=WIDGETS), "a string", "one of ['a', 'b']"),  # a registry's names, as they are when checked
    ],
)
def test_what_a_setting_allows_reads_as_text(allowed, kind, text):
    assert allowed.describe(kind) == text


def _configs() -> list[tuple[str, Callable[[], Any]]]:
    """Every config a job resolves, built with its defaults: the trainer's (whose
    step counts have none: the tiny preset's are given), each registered model's
    and each registered algorithm's."""
    tiny = get_preset("tiny")
    trainer = functools.partial(TrainerConfig, steps=tiny.steps, batch_per_domain=tiny.batch_per_domain,
                                eval_every=tiny.eval_every)
    return ([("trainer", trainer)] + [(f"model {m}", get_model(m).config) for m in MODELS.names()]
            + [(f"algorithm {a}", get_algorithm(a).Config) for a in ALGORITHMS.names()])


@pytest.mark.parametrize("name, build", _configs(), ids=[name for name, _ in _configs()])
def test_every_numeric_setting_says_what_it_allows_and_refuses_what_it_does_not(name, build):
    defaults = build()
    check(defaults)  # the defaults are allowed
    cls = type(defaults)
    hints = typing.get_type_hints(cls)
    for f in (f for f in dataclasses.fields(cls) if hints[f.name] in (int, float)):
        allowed = f.metadata.get(ALLOWED)
        assert allowed is not None, f"{name}: {f.name} declares nothing it allows (use dgfas.config.setting)"
        assert allowed.at_least is not None or allowed.above is not None, f"{name}: {f.name} has no lower bound"
        below = allowed.at_least - 1 if allowed.at_least is not None else allowed.above
        for bad in (below, *([math.nan, math.inf] if hints[f.name] is float else [])):
            with pytest.raises(DgfasError, match=rf"^group\.{f.name} must be "):
                with_overrides(defaults, {f.name: str(bad)}, "group")
        if allowed.at_most is not None:
            with pytest.raises(DgfasError, match=rf"^group\.{f.name} must be "):
                with_overrides(defaults, {f.name: str(allowed.at_most + 1)}, "group")
    for f in dataclasses.fields(cls):
        allowed = f.metadata.get(ALLOWED)
        if allowed is not None and allowed.choices is not None:
            with pytest.raises(DgfasError, match=rf"^group\.{f.name} must be one of \[.*\], got 'nonesuch'$"):
                with_overrides(defaults, {f.name: "nonesuch"}, "group")


def test_the_trainer_has_no_step_counts_of_its_own_the_preset_gives_them():
    with pytest.raises(TypeError, match="'steps', 'batch_per_domain', and 'eval_every'"):
        TrainerConfig()


def test_parse_assignments():
    assert parse_assignments(["a=1", "b.c = x=y"]) == {"a": "1", "b.c": "x=y"}
    with pytest.raises(DgfasError, match="not of the form key=value"):
        parse_assignments(["novalue"])
