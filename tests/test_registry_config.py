from dataclasses import dataclass
from typing import Literal

import pytest

from dgfas.config import parse_assignments, with_overrides
from dgfas.errors import DgfasError
from dgfas.registry import Registry


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
    lr: float = 0.1
    steps: int = 3
    flag: bool = False
    name: str = "x"
    mode: Literal["first", "second"] = "second"


def test_overrides_parse_strings_to_field_types():
    config = with_overrides(Example(), {"lr": "1e-3", "steps": "7", "flag": "true", "mode": "first"})
    assert config == Example(lr=1e-3, steps=7, flag=True, name="x", mode="first")


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"lrr": 1}, r"unknown Example key\(s\) \['lrr'\]; valid: \['flag', 'lr', 'mode', 'name', 'steps'\]"),
        ({"steps": "1.5"}, "Example.steps must be an int"),
        ({"steps": True}, "Example.steps must be an int"),
        ({"lr": "fast"}, "Example.lr must be a float"),
        ({"flag": "yes"}, "Example.flag must be a bool"),
        ({"mode": "third"}, r"Example.mode must be one of \['first', 'second'\]"),
    ],
)
def test_bad_overrides_are_errors(overrides, message):
    with pytest.raises(DgfasError, match=message):
        with_overrides(Example(), overrides)


def test_parse_assignments():
    assert parse_assignments(["a=1", "b.c = x=y"]) == {"a": "1", "b.c": "x=y"}
    with pytest.raises(DgfasError, match="not of the form key=value"):
        parse_assignments(["novalue"])
