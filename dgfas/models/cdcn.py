"""CDCN: a backbone of central difference convolutions (Yu et al., CVPR 2020).

Yu, Zhao, Wang, Qin, Su, Li, Zhou and Zhao, "Searching Central Difference
Convolutional Networks for Face Anti-Spoofing", CVPR 2020.

A central difference convolution (CDC) mixes a plain convolution with one over
the differences between every tap and the window's centre,

    y(p0) = Σ_n w(p_n) · x(p0 + p_n)  −  θ · x(p0) · Σ_n w(p_n),

so θ = 0 is a vanilla convolution and θ = 1 sees only local gradients (the
texture cues, such as moiré and print noise, that the paper argues survive a
change of domain better than raw intensities). θ = 0.7 is the paper's default.

Layout (the paper's CDCN, Table 1 / the authors' code), channel counts at width
1.0: a stem CDC 3→64 at full resolution, then three blocks of CDC 128-196-128
each followed by a 3×3 max-pool of stride 2, giving the low-, mid- and
high-level features at strides 2, 4 and 8. Every CDC is followed by
BatchNorm and ReLU. The map head (:class:`CdcnMapHead`) resizes the three
block outputs to the stride-8 grid, concatenates them and regresses one map
with three more CDCs (128, 64, 1 channels).

The stem and the first block run at the input's resolution and at half of it,
which makes CDCN far more expensive than a ResNet (that divides the resolution
by 4 before its first block): at 64² input and width 0.5 the backbone costs
733 M multiply-adds per image against ResNet-18's 39 M at the same width.
``width`` scales every channel count (at least 8 channels) and the cost goes
with its square: 184 M at width 0.25, 46 M at width 0.125.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dgfas.config import setting
from dgfas.models.registry import register_model
from dgfas.models.weights import NO_WEIGHTS, initialize

#: Channel counts at width 1.0: stem, then each block's three CDCs (the paper's 128-196-128).
STEM_CHANNELS = 64
BLOCK_CHANNELS = (128, 196, 128)
#: The map head's two hidden CDCs.
HEAD_CHANNELS = (128, 64)


@dataclass(frozen=True)
class CdcnConfig:
    """Attributes:
    width: channel multiplier of every layer (1.0 = the paper's CDCN).
    theta: θ, the weight of the central-difference term in [0, 1]; 0 = vanilla convolutions.
    weights: ``none`` (random initialization) or the path of a cdcn
        state dict of this width; ``imagenet`` is an error, since torchvision has no CDCN.
    """

    width: float = setting(1.0, above=0)
    theta: float = setting(0.7, at_least=0, at_most=1)
    weights: str = NO_WEIGHTS


class CentralDifferenceConv2d(nn.Conv2d):
    """A convolution minus θ times the window's centre pixel weighted by the kernel's sum.

    Equivalent to ``conv(x) − θ · conv_1×1(x, W summed over its taps)`` (the
    paper's formulation) whenever the padding keeps windows centred on their
    output pixel, and defined by the window's central tap otherwise. It is
    computed as one convolution whose kernel has θ·ΣW taken off its central
    tap, which costs the same as a vanilla convolution. The bias, if any, is
    added once and is not part of the difference. Weights and state-dict keys
    are those of :class:`torch.nn.Conv2d`, so a vanilla checkpoint loads.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, *, theta: float, **conv_kwargs) -> None:
        super().__init__(in_channels, out_channels, kernel_size, **conv_kwargs)
        if any(k % 2 == 0 for k in self.kernel_size):
            raise ValueError(f"a central difference convolution needs an odd kernel, got {self.kernel_size}")
        self.theta = float(theta)

    def difference_kernel(self) -> torch.Tensor:
        """The kernel of the equivalent vanilla convolution: W with θ·ΣW taken off its central tap."""
        kh, kw = self.kernel_size
        centre = torch.zeros_like(self.weight)
        centre[:, :, kh // 2, kw // 2] = 1.0
        # (C_out, C_in / groups, 1, 1) sum of each kernel over its spatial taps
        tap_sum = self.weight.sum(dim=(2, 3), keepdim=True)
        return self.weight - self.theta * tap_sum * centre

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.theta == 0.0:
            return super().forward(x)  # exactly nn.Conv2d
        return self._conv_forward(x, self.difference_kernel(), self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, theta={self.theta}"


def _cdc_bn_relu(in_channels: int, out_channels: int, theta: float) -> list[nn.Module]:
    return [
        CentralDifferenceConv2d(in_channels, out_channels, 3, padding=1, bias=False, theta=theta),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


class CdcnBackbone(nn.Module):
    """The CDCN encoder: stem and three CDC blocks.

    ``forward`` returns the globally pooled stride-8 features (B,
    ``out_features``), so any algorithm can put a classifier on CDCN;
    ``stages`` returns the three block outputs (strides 2, 4 and 8), the
    low/mid/high-level features the paper concatenates, and ``map_head``
    builds the paper's map regressor over them.

    Unlike ResNet's four stages (strides 4 to 32) there are three, so heads
    written for four stages (a U-Net decoder from stride 32) do not apply.
    """

    def __init__(self, width: float = 1.0, theta: float = 0.7) -> None:
        super().__init__()
        self.width, self.theta = width, theta
        stem = self._scaled(STEM_CHANNELS)
        c1, c2, c3 = (self._scaled(c) for c in BLOCK_CHANNELS)
        self.stem = nn.Sequential(*_cdc_bn_relu(3, stem, theta))
        blocks, in_channels = [], stem
        for _ in range(3):
            blocks.append(nn.Sequential(
                *_cdc_bn_relu(in_channels, c1, theta),
                *_cdc_bn_relu(c1, c2, theta),
                *_cdc_bn_relu(c2, c3, theta),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            ))
            in_channels = c3
        self.blocks = nn.ModuleList(blocks)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.stage_channels = (c3, c3, c3)
        self.out_features = c3
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def _scaled(self, channels: int) -> int:
        return max(8, int(round(channels * self.width)))

    def stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the three blocks: strides 2, 4 and 8 of the input."""
        x = self.stem(x)  # (B, 64w, H, W): full resolution
        out = []
        for block in self.blocks:
            x = block(x)
            out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.avgpool(self.stages(x)[-1]), 1)

    def map_head(self) -> "CdcnMapHead":
        """A new map head of this backbone's width and θ (the paper's last three CDCs)."""
        return CdcnMapHead(self.stage_channels, tuple(self._scaled(c) for c in HEAD_CHANNELS), self.theta)


class CdcnMapHead(nn.Module):
    """CDCN's map regressor: block outputs resized to the stride-8 grid, concatenated, three CDCs.

    The paper resizes bilinearly to 32×32 (its stride-8 grid at 256² input);
    here the grid is the last block's, so every input size works. The last
    CDC is linear (the paper ends with a ReLU): a ReLU'd single-channel output
    whose pre-activations all turn negative stops learning, which a short CPU
    run cannot afford; the score clamps the map instead.
    """

    def __init__(self, stage_channels: tuple[int, ...], hidden: tuple[int, int], theta: float) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            *_cdc_bn_relu(sum(stage_channels), hidden[0], theta),
            *_cdc_bn_relu(hidden[0], hidden[1], theta),
            CentralDifferenceConv2d(hidden[1], 1, 3, padding=1, bias=False, theta=theta),
        )

    def forward(self, stages: list[torch.Tensor]) -> torch.Tensor:
        size = stages[-1].shape[-2:]
        resized = [s if s.shape[-2:] == size else F.interpolate(s, size=size, mode="bilinear", align_corners=False)
                   for s in stages]
        return self.layers(torch.cat(resized, 1))  # (B, 1, H/8, W/8)


@register_model("cdcn", CdcnConfig)
def build_cdcn(config: CdcnConfig) -> CdcnBackbone:
    model = CdcnBackbone(width=config.width, theta=config.theta)
    initialize(model, config.weights, architecture="cdcn", width=config.width, imagenet=None, classifier_prefix="")
    return model
