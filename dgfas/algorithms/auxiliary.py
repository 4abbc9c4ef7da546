"""Auxiliary: depth and rPPG supervision instead of a binary label.

Liu, Jourabloo and Liu, "Learning Deep Models for Face Anti-Spoofing: Binary
or Auxiliary Supervision", CVPR 2018. A CNN estimates a face depth map per
frame (the face's depth for lives, zeros for spoofs); an RNN reads the CNN's
feature maps of the frames of a clip and estimates the remote
photoplethysmography (rPPG) signal, whose spectrum shows a heart beat on a
live face and nothing on a spoof. No live/spoof classifier is trained:

    L = λ_d · MSE(D̂, D) + λ_r · MSE(|FFT(ŝ)|, |FFT(s)|)

with D the depth ground truth resized (area average) to the depth grid, s the
clip's ground-truth pulse (zeros for spoofs) and ŝ the RNN's per-frame
estimate; one Adam step on L per update. A clip's score fuses the two
estimates as the paper does, S = mean(D̂²) + λ · mean(|FFT(ŝ)|²), mapped to
[0, 1) by S / (1 + S), which keeps the order (AUC, EER unchanged).

Choices the paper leaves open or that differ here:
    * The depth CNN is the registered backbone (``resnet18`` by default) on
      RGB, with the stride 4/8/16 stage outputs concatenated on the stride-8
      grid (32×32 at 256², as the paper's map), instead of the paper's own
      RGB+HSV CNN: the comparison with ERM then isolates the supervision.
    * The non-rigid registration layer, which frontalizes features with a
      fitted 3D face, is reduced to its masking half: the one-channel feature
      map is multiplied by the clamped estimated depth (no gradient through
      the mask, as through the paper's thresholded one), then average-pooled
      to ``rppg_grid``² cells for the RNN, so its input size does not depend
      on the image size. The synthetic crops are already aligned at a fixed
      scale.
    * The RNN is an LSTM with 100 hidden units (as in the paper) that emits
      one pulse value per frame; the spectra compared are those of these
      per-frame signals (``torch.fft.rfft``, orthonormal, DC included, so a
      spoof's target is all zeros). The spectrum is computed in fp32 in a
      bf16 run: cuFFT has no bf16 kernel.
    * CNN and RNN are trained jointly with one optimizer rather than in
      alternation; the rPPG loss reaches the CNN's features.
    * Clips are ``clip_length`` consecutive stored frames (8: about one
      second of the synthetic domains' 8–10 fps; the paper uses 5 video
      frames); scoring covers each video with clips.
    * λ_d = λ_r = λ = 1; Adam 1e-3 with weight decay 5e-4, as ERM.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dgfas.algorithms.base import Algorithm, Batch
from dgfas.algorithms.registry import register_algorithm
from dgfas.config import setting
from dgfas.errors import DgfasError
from dgfas.hparams import LogUniform
from dgfas.models import MODELS, get_model
from dgfas.models.heads import concat_at_stride8, conv_bn_relu
from dgfas.models.registry import StagedBackbone
from dgfas.precision import in_fp32


@dataclass(frozen=True)
class AuxiliaryConfig:
    """Attributes:
    model: backbone name in the model registry (needs ``stages``).
    lr: Adam learning rate.
    weight_decay: L2 penalty.
    clip_length: consecutive frames per clip fed to the RNN.
    depth_weight: λ_d.
    rppg_weight: λ_r.
    rppg_hidden: LSTM hidden units.
    rppg_grid: side of the pooled feature map each frame gives the RNN.
    rppg_score_weight: λ, weight of the rPPG energy in the score.
    """

    model: str = setting("resnet18", choices=MODELS)
    lr: float = setting(1e-3, above=0)
    weight_decay: float = setting(5e-4, at_least=0)
    clip_length: int = setting(8, at_least=2, why="an rPPG spectrum needs two frames or more")
    depth_weight: float = setting(1.0, at_least=0)
    rppg_weight: float = setting(1.0, at_least=0)
    rppg_hidden: int = setting(100, at_least=1)
    rppg_grid: int = setting(8, at_least=1)
    rppg_score_weight: float = setting(1.0, at_least=0)


def pulse_spectrum(signal: torch.Tensor) -> torch.Tensor:
    """(B, T) signal -> (B, T // 2 + 1) magnitude spectrum, orthonormal so its energy matches the signal's.

    Always fp32: cuFFT has no bf16 kernel, and a bf16 spectrum would carry
    only three significant digits into the loss and the score.
    """
    with in_fp32(signal.device):
        return torch.fft.rfft(signal.float(), dim=-1, norm="ortho").abs()


class DepthRppgNet(nn.Module):
    """The CNN (depth map and feature map per frame) and the RNN (pulse per frame of a clip)."""

    def __init__(self, backbone: nn.Module, rppg_hidden: int, rppg_grid: int) -> None:
        super().__init__()
        if not isinstance(backbone, StagedBackbone):
            raise DgfasError(f"backbone {type(backbone).__name__} has no stages() for the depth map")
        self.backbone = backbone
        hidden = backbone.stage_channels[0]
        self.features = conv_bn_relu(sum(backbone.stage_channels[:3]), hidden)
        self.depth = nn.Sequential(conv_bn_relu(hidden, hidden // 2), nn.Conv2d(hidden // 2, 1, 3, padding=1))
        self.feature_map = nn.Conv2d(hidden, 1, 1)
        self.rppg_grid = rppg_grid
        self.rnn = nn.LSTM(rppg_grid * rppg_grid, rppg_hidden, batch_first=True)
        self.pulse = nn.Linear(rppg_hidden, 1)

    def forward(self, clips: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, T, 3, H, W) clips -> depth (B, T, 1, H/8, W/8) and pulse (B, T)."""
        b, t = clips.shape[:2]
        features = self.features(concat_at_stride8(self.backbone.stages(clips.flatten(0, 1))))
        depth = self.depth(features)  # (B*T, 1, h, w)
        # registration stand-in: keep the face's features, drop the background's
        masked = self.feature_map(features) * depth.detach().clamp(0.0, 1.0)
        cells = F.adaptive_avg_pool2d(masked, self.rppg_grid).flatten(1)  # (B*T, grid²)
        sequence, _ = self.rnn(cells.view(b, t, -1))
        return {"depth": depth.view(b, t, *depth.shape[1:]), "pulse": self.pulse(sequence).squeeze(-1)}


@register_algorithm("auxiliary")
class Auxiliary(Algorithm):
    Config = AuxiliaryConfig
    # A decade either side of the defaults; the loss weights trade depth against rPPG supervision.
    search_space = {
        "lr": LogUniform(1e-4, 1e-2),
        "weight_decay": LogUniform(1e-5, 1e-2),
        "depth_weight": LogUniform(0.1, 10.0),
        "rppg_weight": LogUniform(0.1, 10.0),
    }
    maps = ("depth", "pulse")

    def __init__(self, config: AuxiliaryConfig, model_config, domains: list[str]) -> None:
        super().__init__(config, model_config, domains)
        self.clip_length = config.clip_length
        self.net = DepthRppgNet(get_model(config.model).build(model_config), config.rppg_hidden, config.rppg_grid)
        self.register_optimizer(torch.optim.Adam(self.net.parameters(), lr=config.lr, weight_decay=config.weight_decay))

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Unweighted depth and rPPG losses of one joined clip batch."""
        out = self.net(batch.image)
        b, t = batch.image.shape[:2]
        target = F.adaptive_avg_pool2d(batch.depth.flatten(0, 1), out["depth"].shape[-2:])
        return {
            "depth": F.mse_loss(out["depth"].flatten(0, 1), target),
            "rppg": F.mse_loss(pulse_spectrum(out["pulse"]), pulse_spectrum(batch.pulse.view(b, t))),
        }

    def update(self, batches_by_domain: dict[str, Batch]) -> dict[str, float]:
        losses = self.losses(Batch.join(list(batches_by_domain.values())))
        total = self.config.depth_weight * losses["depth"] + self.config.rppg_weight * losses["rppg"]
        self.minimize(total)
        return {"loss": total.item(), **{k: v.item() for k, v in losses.items()}}

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        # a single frame is scored as a one-frame clip (no pulse to see)
        out = self.net(x if x.dim() == 5 else x.unsqueeze(1))
        depth_energy = out["depth"].float().clamp(0.0, 1.0).square().flatten(1).mean(1)  # fp32 in a bf16 run
        pulse_energy = pulse_spectrum(out["pulse"]).square().mean(1)
        fused = depth_energy + self.config.rppg_score_weight * pulse_energy
        return fused / (1.0 + fused)

    def output_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        # each frame as a one-frame clip; the pulse is a signal, not a map
        return {"depth": self.net(x.unsqueeze(1))["depth"][:, 0].clamp(0.0, 1.0)}  # (B, 1, H/8, W/8)
