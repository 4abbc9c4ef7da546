"""Pyramid pixel-wise supervision (Yu, Li, Shi, Xia and Zhao, IEEE T-BIOM 2021).

Yu, Li, Shi, Xia and Zhao, "Revisiting Pixel-Wise Supervision for Face
Anti-Spoofing", IEEE Transactions on Biometrics, Behavior, and Identity
Science, 2021 (arXiv:2011.12032).

A network regresses one map at stride 8 of its input (32×32 at the paper's
256² faces). Rather than supervise only that map pixel by pixel, the
prediction and the ground truth are both average-pooled into a pyramid of
coarser grids (the paper's 32, 16, 8, 4, 2 and 1 cells a side) and compared at
every level: the fine levels ask for local, patch-level evidence and the coarse
ones for the global live/spoof decision (the 1×1 level is the map's mean).

Loss of a batch, with y = 1 for live and 0 for spoof:

    T      = y · D                         (target "depth": the face depth map)
           or y · 1[parsing ≠ background]  (target "mask": 1 on the face region of lives)
    P      = f(x),  (B, 1, H/8, W/8)
    T_0    = T area-averaged to P's grid
    P_k, T_k = P and T_0 average-pooled to (⌊h/2^k⌋, ⌊w/2^k⌋), k = 0 .. levels−1,
               sizes clipped to at least 1×1, repeated sizes dropped
    L      = Σ_k MSE(P_k, T_k)  +  λ_c · CDL(P, T_0)

where CDL is CDCN's contrastive depth loss (the MSE between the differences of
each pixel to its 8 neighbours in P and in T_0), off by default. The update is
one Adam step on all parameters per call, with all source domains pooled into
one batch; domain labels are not used. The liveness score is the mean of the
predicted map clamped to [0, 1].

Choices the paper's description leaves open, made here:
    * Levels are counted from the predicted map down by factors of 2, so the
      paper's six levels (32…1 at 256²) become 8, 4, 2, 1 at the quick preset's
      64² input and 4, 2, 1 at 32²: sizes below 1×1 are clipped to 1×1 and
      the repeats dropped, so no level is counted twice. Non-divisible sides
      pool with overlapping windows (adaptive average pooling).
    * Levels are weighted equally and summed, not averaged, so adding a level
      adds a term rather than diluting the others.
    * The contrastive depth loss (``contrastive_weight``) is CDCN's depth term;
      it is off by default so that both targets train on the same pyramid MSE,
      and it acts on the finest level only, as CDCN applies it to its 32×32 map.
    * The score is the mean of the map clamped pixel-wise to [0, 1]. It equals
      the 1×1 pyramid level (every level has the map's mean) and mirrors the
      authors' code, whose map passes a ReLU; we clamp at test time instead of
      ending the network in a ReLU (see :class:`~dgfas.models.cdcn.CdcnMapHead`).
      The authors' code divides the map's sum by the face mask's area at test
      time; a test-time mask is not available to ``predict``, so it is not used.
    * Depth for spoofs is multiplied by y even though the trainer already
      supplies zeros, so a dataset with spoof depth cannot leak into the target.
    * The mask's face region is every parsing class but background (hair
      included), at the input's resolution, then area-averaged: boundary
      cells of the coarse grid get fractional targets.
    * Architecture by backbone name (``model``): a backbone that builds its own
      map head (``map_head()``: CDCN's three CDCs over its three blocks, as in
      the paper) uses it; any other backbone with ``stages`` (ResNet-18) gets
      :class:`~dgfas.models.heads.DepthHead`, Liu et al.'s stage concatenation
      at stride 8. DepthHead reads ResNet-18's first three stages, so layer4
      is computed but gets no gradient and keeps its initial weights. CDCN's
      θ is a model hyper-parameter (``model.theta``).
    * Optimizer: our ERM defaults (Adam, learning rate 1e-3, weight decay
      5e-4, no schedule), so methods compare at one setting on short CPU runs.
      The authors' CDCN code uses Adam at 1e-4 with weight decay 5e-5, halved
      every 500 epochs (``--set algorithm.lr=1e-4 --set algorithm.weight_decay=5e-5``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dgfas.algorithms.base import Algorithm, Batch
from dgfas.algorithms.registry import register_algorithm
from dgfas.config import setting
from dgfas.data.frames import PARSING_CLASSES
from dgfas.errors import DgfasError
from dgfas.hparams import Choice, LogUniform
from dgfas.models import MODELS, get_model
from dgfas.models.heads import DepthHead
from dgfas.models.registry import MapHeadBackbone, StagedBackbone

#: What the predicted map is trained to be, and the ground-truth map each target is made from.
TARGET_MAPS = {"depth": "depth", "mask": "parsing"}
TARGETS = tuple(TARGET_MAPS)

#: (dy, dx) of the 8 neighbours in the contrastive depth loss.
_NEIGHBOURS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))


@dataclass(frozen=True)
class PyramidConfig:
    """Attributes:
    model: backbone name in the model registry (must expose ``stages``): ``resnet18`` or ``cdcn``.
    target: ``depth`` (face depth for lives, zeros for spoofs) or ``mask`` (1 on the face of lives).
    levels: pyramid levels from the predicted map down by factors of 2 (6 = the paper's 32…1 at 256²).
    contrastive_weight: λ_c, weight of CDCN's contrastive depth loss on the finest level (0 = off).
    lr: Adam learning rate.
    weight_decay: Adam's (coupled) L2 penalty.
    """

    model: str = setting("resnet18", choices=MODELS)
    target: str = setting("depth", choices=TARGETS)
    levels: int = setting(6, at_least=1)
    contrastive_weight: float = setting(0.0, at_least=0)
    lr: float = setting(1e-3, above=0)
    weight_decay: float = setting(5e-4, at_least=0)


def pyramid_sizes(size: tuple[int, int], levels: int) -> list[tuple[int, int]]:
    """Grid sizes of the pyramid: ``size`` halved ``levels − 1`` times, at least 1×1, repeats dropped."""
    sizes: list[tuple[int, int]] = []
    for k in range(levels):
        level = (max(1, size[0] >> k), max(1, size[1] >> k))
        if level not in sizes:
            sizes.append(level)
    return sizes


def pyramid(maps: torch.Tensor, levels: int) -> dict[tuple[int, int], torch.Tensor]:
    """``maps`` (B, C, h, w) average-pooled to every level of :func:`pyramid_sizes`, by grid size."""
    return {size: F.adaptive_avg_pool2d(maps, size) for size in pyramid_sizes(tuple(maps.shape[-2:]), levels)}


def pyramid_losses(prediction: torch.Tensor, target: torch.Tensor, levels: int) -> dict[tuple[int, int], torch.Tensor]:
    """MSE between ``prediction`` and ``target`` (both (B, 1, h, w)) at each pyramid level, by grid size."""
    targets = pyramid(target, levels)
    return {size: F.mse_loss(pooled, targets[size]) for size, pooled in pyramid(prediction, levels).items()}


def contrastive_depth_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CDCN's contrastive depth loss: MSE between each interior pixel's 8 neighbour differences."""
    h, w = prediction.shape[-2:]
    if h < 3 or w < 3:
        return prediction.new_zeros(())  # no interior pixel has 8 neighbours

    def contrasts(m: torch.Tensor) -> torch.Tensor:
        centre = m[..., 1 : h - 1, 1 : w - 1]
        return torch.stack([m[..., 1 + dy : h - 1 + dy, 1 + dx : w - 1 + dx] - centre for dy, dx in _NEIGHBOURS])

    return F.mse_loss(contrasts(prediction), contrasts(target))


def target_map(batch: Batch, target: str) -> torch.Tensor:
    """(B, 1, H, W) supervision at the input's resolution: depth or face mask of lives, zeros for spoofs."""
    live = batch.label.view(-1, 1, 1, 1)
    if target == "depth":
        return batch.depth * live
    face = (batch.parsing != PARSING_CLASSES.index("background")).unsqueeze(1)
    return face.to(live.dtype) * live


class PyramidNet(nn.Module):
    """Backbone + map head: one forward returns the (B, 1, H/8, W/8) map."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        if not isinstance(backbone, StagedBackbone):
            raise DgfasError(f"backbone {type(backbone).__name__} has no stages() for the pyramid map head")
        self.backbone = backbone
        self.head = backbone.map_head() if isinstance(backbone, MapHeadBackbone) else DepthHead(backbone.stage_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.stages(x))


@register_algorithm("pyramid")
class Pyramid(Algorithm):
    """Pyramid supervision of a stride-8 map (Yu et al., "Revisiting Pixel-Wise Supervision for FAS", T-BIOM 2021).

    Loss: L = Σ_k MSE(avgpool_k(P), avgpool_k(T)) + λ_c · CDL(P, T) over the
    pyramid levels k, with P the predicted map and T the depth or face mask of
    lives (zeros for spoofs) on P's grid. Update: one Adam step on all source
    domains pooled. Score: mean of P clamped to [0, 1]. The module docstring
    spells out the terms and lists every choice the paper leaves open.
    """

    Config = PyramidConfig
    # A decade either side of the defaults; the contrastive depth loss off, or on at CDCN's weight.
    search_space = {
        "lr": LogUniform(1e-4, 1e-2),
        "weight_decay": LogUniform(1e-5, 1e-2),
        "contrastive_weight": Choice((0.0, 1.0)),
    }
    maps = tuple(TARGET_MAPS.values())

    @classmethod
    def maps_for(cls, config: PyramidConfig) -> tuple[str, ...]:
        return (TARGET_MAPS[config.target],)

    def __init__(self, config: PyramidConfig, model_config, domains: list[str]) -> None:
        super().__init__(config, model_config, domains)
        self.net = PyramidNet(get_model(config.model).build(model_config))
        self.register_optimizer(torch.optim.Adam(self.net.parameters(), lr=config.lr, weight_decay=config.weight_decay))

    def losses(self, prediction: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Unweighted losses by name: ``mse_{h}x{w}`` per pyramid level, and ``contrastive`` if used.

        Args:
            prediction: (B, 1, h, w) predicted map.
            target: (B, 1, H, W) supervision at the input's resolution (:func:`target_map`).
        """
        # fp32 in a bf16 run: pooled means and neighbour differences of a bf16 map lose most of their digits
        prediction = prediction.float()
        target = F.adaptive_avg_pool2d(target.float(), prediction.shape[-2:])  # (B, 1, h, w)
        losses = {f"mse_{h}x{w}": value for (h, w), value in pyramid_losses(prediction, target, self.config.levels).items()}
        if self.config.contrastive_weight:
            losses["contrastive"] = contrastive_depth_loss(prediction, target)
        return losses

    def update(self, batches_by_domain: dict[str, Batch]) -> dict[str, float]:
        joined = Batch.join(list(batches_by_domain.values()))
        losses = self.losses(self.net(joined.image), target_map(joined, self.config.target))
        weights = {"contrastive": self.config.contrastive_weight}
        total = sum(weights.get(name, 1.0) * value for name, value in losses.items())
        self.minimize(total)
        return {"loss": total.item(), **{name: value.item() for name, value in losses.items()}}

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).float().clamp(0.0, 1.0).mean(dim=(1, 2, 3))  # fp32 mean in a bf16 run

    def output_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        # (B, 1, H/8, W/8), clamped as the score reads it; named after what it was trained to be
        return {self.config.target: self.net(x).clamp(0.0, 1.0)}
