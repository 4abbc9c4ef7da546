"""The model registry: backbone name -> (config dataclass, builder), and the interface every built backbone offers.

Algorithms choose an architecture by name (``model = "resnet18"``), never by
boolean flags, and add their own heads on top of the backbone's features.
What they may read from a backbone is written down here as protocols
(:class:`Backbone`, :class:`StagedBackbone`, :class:`MapHeadBackbone`), so a
new backbone shows which methods it can serve by what it implements, and a
method checks for a capability by ``isinstance`` rather than by attribute names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, runtime_checkable

import torch
from torch import nn
from torchvision.models import WeightsEnum

from dgfas.registry import Registry


class Backbone(Protocol):
    """What every registered builder returns: a module whose forward pass gives pooled features.

    Attributes:
        out_features: D, the width of the pooled features.
    """

    out_features: int

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) images -> (B, out_features) pooled features."""


@runtime_checkable
class StagedBackbone(Protocol):
    """A backbone whose intermediate feature maps dense heads can tap (ResNet-18, VGG-16, CDCN).

    Attributes:
        stage_channels: channels of each stage's output, finest stage first.
    """

    stage_channels: tuple[int, ...]

    def stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, H, W) images -> one (B, stage_channels[i], H_i, W_i) feature map per stage, finest first."""


@runtime_checkable
class MapHeadBackbone(StagedBackbone, Protocol):
    """A staged backbone that builds its own dense map head (CDCN's), which a map method prefers to a generic one."""

    def map_head(self) -> nn.Module:
        """A new head taking ``stages(x)`` to a (B, 1, h, w) map."""


@dataclass(frozen=True)
class ModelEntry:
    """How to build one backbone: its typed config, a builder taking it, and its ImageNet weights.

    ``imagenet`` is torchvision's ImageNet weights entry for the backbone at
    width 1.0 (what ``model.weights=imagenet`` loads), None where torchvision
    has no counterpart.
    """

    config: type
    build: Callable[[Any], Backbone]
    imagenet: WeightsEnum | None = None


MODELS: Registry[ModelEntry] = Registry("model")


def register_model(
    name: str, config: type, imagenet: WeightsEnum | None = None
) -> Callable[[Callable[[Any], Backbone]], Callable[[Any], Backbone]]:
    def add(build: Callable[[Any], Backbone]) -> Callable[[Any], Backbone]:
        MODELS.add(name, ModelEntry(config=config, build=build, imagenet=imagenet))
        return build

    return add


def get_model(name: str) -> ModelEntry:
    return MODELS.get(name)
