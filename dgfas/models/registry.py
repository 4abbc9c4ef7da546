"""The model registry: backbone name -> (config dataclass, builder).

Algorithms choose an architecture by name (``model = "resnet18"``), never by
boolean flags, and add their own heads on top of the backbone's features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import nn
from torchvision.models import WeightsEnum

from dgfas.registry import Registry


@dataclass(frozen=True)
class ModelEntry:
    """How to build one backbone: its typed config, a builder taking it, and its ImageNet weights.

    ``imagenet`` is torchvision's ImageNet weights entry for the backbone at
    width 1.0 (what ``model.weights=imagenet`` loads), None where torchvision
    has no counterpart.
    """

    config: type
    build: Callable[[Any], nn.Module]
    imagenet: WeightsEnum | None = None


MODELS: Registry[ModelEntry] = Registry("model")


def register_model(
    name: str, config: type, imagenet: WeightsEnum | None = None
) -> Callable[[Callable[[Any], nn.Module]], Callable[[Any], nn.Module]]:
    def add(build: Callable[[Any], nn.Module]) -> Callable[[Any], nn.Module]:
        MODELS.add(name, ModelEntry(config=config, build=build, imagenet=imagenet))
        return build

    return add


def get_model(name: str) -> ModelEntry:
    return MODELS.get(name)
