"""The model registry: backbone name -> (config dataclass, builder).

Algorithms choose an architecture by name (``model = "resnet18"``), never by
boolean flags, and add their own heads on top of the backbone's features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from dgfas.registry import Registry


@dataclass(frozen=True)
class ModelEntry:
    """How to build one backbone: its typed config and a builder taking it."""

    config: type
    build: Callable[[Any], nn.Module]


MODELS: Registry[ModelEntry] = Registry("model")


def register_model(name: str, config: type) -> Callable[[Callable[[Any], nn.Module]], Callable[[Any], nn.Module]]:
    def add(build: Callable[[Any], nn.Module]) -> Callable[[Any], nn.Module]:
        MODELS.add(name, ModelEntry(config=config, build=build))
        return build

    return add


def get_model(name: str) -> ModelEntry:
    return MODELS.get(name)
