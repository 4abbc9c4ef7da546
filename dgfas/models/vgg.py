"""VGG-16 backbone from torchvision, with a width multiplier for CPU presets.

Width 1.0 is exactly torchvision's ``vgg16().features`` (same module indices,
names and shapes), so its ImageNet weights load into it (``model.weights=imagenet``,
:mod:`dgfas.models.weights`); narrower widths
keep the topology and only scale the channel counts. The fully connected
ImageNet classifier is not part of the backbone: ``forward`` pools the last
block's output, and ``stages`` gives the five convolution blocks' outputs for
methods that tap several depths (BASN).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torchvision.models import VGG16_Weights
from torchvision.models.vgg import cfgs, make_layers

from dgfas.config import setting
from dgfas.models.registry import register_model
from dgfas.models.weights import NO_WEIGHTS, initialize


@dataclass(frozen=True)
class VggConfig:
    """Attributes:
    width: channel multiplier of every block (1.0 = torchvision vgg16), at least 8 channels each.
    weights: ``none`` (random initialization), ``imagenet`` (torchvision's, width 1.0 only)
        or the path of a vgg16 state dict of this width.
    """

    width: float = setting(1.0, above=0)
    weights: str = NO_WEIGHTS


class VggBackbone(nn.Module):
    """torchvision's VGG-16 convolution blocks with scaled widths and no classifier.

    ``forward`` returns pooled features (B, ``out_features``); ``stages``
    returns the outputs of blocks conv1..conv5 before their max-pooling, at
    strides 1, 2, 4, 8 and 16 of the input.
    """

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        # torchvision's configuration "D" is VGG-16: channel counts and "M" for max-pooling.
        layout = [v if v == "M" else max(8, int(round(v * width))) for v in cfgs["D"]]
        self.features = make_layers(layout, batch_norm=False)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        # A block's width is that of the convolution just before its max-pooling.
        self.stage_channels = tuple(layout[i - 1] for i, v in enumerate(layout) if v == "M")
        self.out_features = self.stage_channels[-1]
        # torchvision's own initialization of VGG convolutions.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of conv1..conv5, each taken just before its block's max-pooling."""
        out = []
        for layer in self.features:
            if isinstance(layer, nn.MaxPool2d):
                out.append(x)
            x = layer(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.avgpool(self.features(x)), 1)


#: What ``model.weights=imagenet`` loads: torchvision's ImageNet weights of vgg16 (the
#: classification weights, whose inputs are normalized as the trainer does; the
#: ``IMAGENET1K_FEATURES`` entry expects another normalization).
IMAGENET_WEIGHTS = VGG16_Weights.IMAGENET1K_V1


@register_model("vgg16", VggConfig, imagenet=IMAGENET_WEIGHTS)
def build_vgg16(config: VggConfig) -> VggBackbone:
    model = VggBackbone(width=config.width)
    initialize(model, config.weights, architecture="vgg16", width=config.width, imagenet=IMAGENET_WEIGHTS,
               classifier_prefix="classifier.")
    return model
