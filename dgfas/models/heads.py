"""Dense heads over a backbone's stage outputs: a coarse depth map and a face-parsing map.

Both take the list a backbone's ``stages(x)`` returns (strides 4, 8, 16, 32)
and its ``stage_channels``, so they work on any registered backbone that has
them, at any width.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)
    )


def concat_at_stride8(stages: list[torch.Tensor]) -> torch.Tensor:
    """The stride 4, 8 and 16 stage outputs, resized to the stride-8 grid and concatenated (Liu et al.'s depth CNN input)."""
    size = stages[1].shape[-2:]
    resized = [F.interpolate(s, size=size, mode="bilinear", align_corners=False) if s.shape[-2:] != size else s
               for s in stages[:3]]
    return torch.cat(resized, 1)


class DepthHead(nn.Module):
    """A one-channel depth map at stride 8, in the style of Liu et al.'s depth CNN (CVPR 2018).

    As there, the outputs of three blocks (here the strides 4, 8 and 16 stages)
    are resized to one grid and concatenated, then three convolutions regress
    depth. Stride 8 gives Liu et al.'s 32×32 map at 256² input. The output is
    unbounded; the loss compares it with the ground truth resized to its grid.
    """

    def __init__(self, stage_channels: tuple[int, ...]) -> None:
        super().__init__()
        # As narrow as the first stage: the head must not cost more than the encoder.
        hidden = stage_channels[0]
        self.layers = nn.Sequential(
            conv_bn_relu(sum(stage_channels[:3]), hidden),
            conv_bn_relu(hidden, hidden // 2),
            nn.Conv2d(hidden // 2, 1, 3, padding=1),
        )

    def forward(self, stages: list[torch.Tensor]) -> torch.Tensor:
        return self.layers(concat_at_stride8(stages))  # (B, 1, H/8, W/8)


class ParsingHead(nn.Module):
    """A U-Net-style decoder: per-pixel class logits at the input's resolution.

    From the stride-32 stage it upsamples ×2 three times, each time
    concatenating the skip connection of the same stride and convolving, then predicts ``classes`` logits at stride 4 and
    upsamples them bilinearly to the input size.
    """

    def __init__(self, stage_channels: tuple[int, ...], classes: int) -> None:
        super().__init__()
        c1, c2, c3, c4 = stage_channels[:4]
        # Every decoder block is as narrow as the first stage, which keeps the
        # decoder at a fraction of the encoder's cost.
        self.up3 = conv_bn_relu(c4 + c3, c1)
        self.up2 = conv_bn_relu(c1 + c2, c1)
        self.up1 = conv_bn_relu(c1 + c1, c1)
        self.logits = nn.Conv2d(c1, classes, 1)

    def forward(self, stages: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        x = stages[3]
        for block, skip in ((self.up3, stages[2]), (self.up2, stages[1]), (self.up1, stages[0])):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], 1))
        return F.interpolate(self.logits(x), size=size, mode="bilinear", align_corners=False)  # (B, classes, H, W)
