"""ResNet-18 backbone from torchvision, with a width multiplier for CPU presets.

Width 1.0 is exactly torchvision's ``resnet18`` (same module names and shapes),
so its ImageNet weights load into it (``model.weights=imagenet``,
:mod:`dgfas.models.weights`); narrower widths keep the topology and only scale
the channel counts, which is what makes the quick preset fit two CPU cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torchvision.models import ResNet18_Weights
from torchvision.models.resnet import BasicBlock, ResNet

from dgfas.config import setting
from dgfas.models.registry import register_model
from dgfas.models.weights import NO_WEIGHTS, initialize


@dataclass(frozen=True)
class ResNetConfig:
    """Attributes:
    width: channel multiplier of every stage (1.0 = torchvision resnet18).
    weights: ``none`` (random initialization), ``imagenet`` (torchvision's, width 1.0 only)
        or the path of a resnet18 state dict of this width.
    """

    width: float = setting(1.0, above=0)
    weights: str = NO_WEIGHTS


class ResNetBackbone(ResNet):
    """torchvision's ResNet with scaled stage widths and no classifier.

    ``forward`` returns pooled features (B, ``out_features``); ``stages`` returns
    the four stage outputs so dense heads (depth, parsing) can tap them.
    """

    def __init__(self, width: float = 1.0, layers: tuple[int, ...] = (2, 2, 2, 2)) -> None:
        # torchvision's ResNet.__init__ hard-codes 64..512 channels; we build the
        # same modules with the same names through its own _make_layer.
        nn.Module.__init__(self)
        channels = [max(8, int(round(c * width))) for c in (64, 128, 256, 512)]
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = channels[0], 1, 1, 64
        self.conv1 = nn.Conv2d(3, channels[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(channels[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(BasicBlock, channels[0], layers[0])
        self.layer2 = self._make_layer(BasicBlock, channels[1], layers[1], stride=2)
        self.layer3 = self._make_layer(BasicBlock, channels[2], layers[2], stride=2)
        self.layer4 = self._make_layer(BasicBlock, channels[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.stage_channels = tuple(channels)
        self.out_features = channels[3]
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of layer1..layer4: strides 4, 8, 16, 32 of the input."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        out = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.avgpool(self.stages(x)[-1]), 1)


#: What ``model.weights=imagenet`` loads: torchvision's own ImageNet weights of resnet18.
IMAGENET_WEIGHTS = ResNet18_Weights.IMAGENET1K_V1


@register_model("resnet18", ResNetConfig, imagenet=IMAGENET_WEIGHTS)
def build_resnet18(config: ResNetConfig) -> ResNetBackbone:
    model = ResNetBackbone(width=config.width)
    initialize(model, config.weights, architecture="resnet18", width=config.width, imagenet=IMAGENET_WEIGHTS,
               classifier_prefix="fc.")
    return model
