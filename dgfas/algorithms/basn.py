"""BASN: bipartite auxiliary supervisions for face anti-spoofing
(Kim, Kim, Kim and Kim, "BASN: Enriching feature representation using bipartite
auxiliary supervisions for face anti-spoofing", ICCV Workshops 2019).

Model (:class:`BasnNet`), for an input image I of side S:

    x = [RGB(I), HSV(I)]                         (B, 6, S, S)
    stages = VGG16(conv3x3(x) -> 3 channels)     conv1..conv5, strides 1..16
    a = cat(resize(conv2..conv4, S/4))           auxiliary input
    (f_d, D̂) = depth_extractor(a)               D̂: (B, 1, S/4, S/4)
    (f_r, R̂) = reflection_extractor(a)          R̂: (B, 3, S/4, S/4)
    e = enrich(f_d − f_r)                        two conv+BN, each max-pooled: S/16
    b = conv(cat(resize(conv2..conv5, S/16)))
    logits = classifier(b + e)                   conv, max-pool, 1x1 conv, 8x8 conv -> 2

The depth map is supervised on every image with D the face depth for lives
and zeros for spoofs; the reflection map with R the glare layer for spoofs and
zeros for lives: the two auxiliary tasks are "bipartite", each describing one
class and being empty on the other. The score is the softmax probability of
class 1 (live).

Loss of a batch of N images (all source domains pooled), the paper's:

    L = λ1 · CE(logits, y) + λ2 · L_depth + λ3 · L_ref,
    L_depth = (1/N) Σ_i ‖D̂_i − D_i‖₁²,   L_ref = (1/N) Σ_i ‖R̂_i − R_i‖₁²,

a mean over the batch of squared L1 norms: per image, the sum of absolute
errors over every pixel (and channel) of its map, squared
(:func:`mean_squared_l1`). CE is the mean two-class cross-entropy. The paper
sets λ1 = 10 and λ2 = λ3 = 5e-5 for its 64x64 maps (S/4 at its 256² input);
:func:`map_loss_weight` rescales λ2 and λ3 to the map size a run uses (see
below). Update: θ ← Adam(θ, ∇θ L) at lr 5e-5, one step per batch; the
trainer already draws every domain's batch half live, half spoof (the
paper's 1:1 sampling).

Why λ2 and λ3 are rescaled: a squared L1 norm grows with the square of the
map's pixel count. With a typical absolute error e per pixel, an h×w map
gives ‖·‖₁² = (h·w·e)², so the paper's 64x64 map weighs (4096·e)² where a
16x16 map (64² input) weighs (256·e)², 256 times less. Keeping the paper's
λ2 at 16x16 would make the map losses 256 times weaker against the
classifier than the paper's balance (at 32² input, 4096 times). So λ2 and λ3
are given as the paper's and applied as λ · (64² / (h·w))², which gives an
image with per-pixel error e the same weighted loss λ·(4096·e)² at every map
size, i.e. the paper's balance between maps and classifier. At 256² input
the factor is 1 and the loss is exactly the paper's.

Ablations (the paper's Table 1) are one hyper-parameter, ``auxiliary``:
``none`` (baseline: no extractor, no enrichment; the classifier sees b
only), ``depth`` (model A: e = enrich(f_d)), ``reflection`` (model B:
e = enrich(f_r)), ``added`` (model C: e = enrich(f_d + f_r)) and
``subtracted`` (model D, BASN). An extractor a variant does not use is not
built and its loss is not computed.

Choices the paper's description leaves open, or that our sizes force, made here:
    * HSV is computed from the RGB image in [0, 1] (the trainer's ImageNet
      normalization undone); hue is scaled to [0, 1) (degrees / 360, as in
      ``colorsys``), saturation and value are in [0, 1]. The RGB half is fed in
      [0, 1] too, so both halves have the same range; the extra 3x3
      convolution (6 -> 3 channels, with bias, no activation) learns the mix.
    * "convN output" is block N's last ReLU output, before its max-pooling
      (strides 1, 2, 4, 8, 16). The paper's grids are 64x64 and 16x16 at 256²
      input; here they are S/4 and S/16 for any S (S ≥ 32), which are conv3's
      and conv5's own grids. Larger maps are shrunk by area averaging (every
      activation counts), smaller ones enlarged bilinearly.
    * Each extractor: two 3x3 conv + BN + ReLU (width of conv1) give its
      feature f, then a 3x3 convolution regresses the map, unbounded (no
      sigmoid); the ground truth is area-averaged onto the S/4 grid. The
      enrichment path's two convolutions, the backbone path's convolution
      and the classifier use conv3's width; the backbone path and the
      classifier's convolutions have BN + ReLU, the enrichment path BN only.
    * The last layer is an 8x8 convolution over an 8x8 grid, as at 256²
      input, where the classifier's map is S/32 = 8 on a side. At other
      inputs the map (S/32 on a side) is resized to 8x8 first (2x2 at 64²
      input: each cell repeated in a 4x4 block), so the layer still covers the
      whole map, with the same parameters at every input size; at 64² it acts
      as a 2x2 convolution whose weights are the 4x4 block sums. A kernel of
      the map's own size would need the input size when the model is built,
      which the algorithm is not given.
    * Adam without weight decay (none is stated); no weights frozen. The
      backbone's ImageNet weights are ``model.weights=imagenet``, the
      default of real-data runs at the ``paper`` preset; the CPU presets
      train a narrower VGG-16 from scratch.

Every departure from the paper, this module's and the data's (the reflection
ground truth comes from no reflection-separation network), is listed in
``docs/methods.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dgfas.algorithms.base import IMAGENET_MEAN, IMAGENET_STD, Algorithm, Batch
from dgfas.algorithms.registry import register_algorithm
from dgfas.config import setting
from dgfas.errors import DgfasError
from dgfas.hparams import LogUniform
from dgfas.models import MODELS, get_model
from dgfas.models.registry import StagedBackbone

#: Values of ``BasnConfig.auxiliary``: the paper's baseline, models A, B, C and D (BASN).
AUXILIARY = ("none", "depth", "reflection", "added", "subtracted")

#: Side of the grid the last (8x8) convolution covers: the classifier's map at 256² input.
FINAL_GRID = 8

#: Pixels of the paper's depth and reflection maps (64x64, S/4 at its 256² input), for which its λ2 and λ3 were set.
PAPER_MAP_PIXELS = 64 * 64


@dataclass(frozen=True)
class BasnConfig:
    """Attributes:
    model: backbone name in the model registry (must expose five ``stages``, as ``vgg16`` does).
    auxiliary: which auxiliary extractors feed the enrichment path: one of :data:`AUXILIARY`.
    cls_weight: λ1, weight of the cross-entropy.
    depth_weight: λ2, weight of the squared-L1 depth loss on the paper's 64x64 map; rescaled to the
        map size a run uses by :func:`map_loss_weight`.
    reflection_weight: λ3, weight of the squared-L1 reflection loss, likewise.
    lr: Adam learning rate.
    weight_decay: Adam's (coupled) L2 penalty.
    """

    model: str = setting("vgg16", choices=MODELS)
    auxiliary: str = setting("subtracted", choices=AUXILIARY)
    cls_weight: float = setting(10.0, at_least=0)
    depth_weight: float = setting(5e-5, at_least=0)
    reflection_weight: float = setting(5e-5, at_least=0)
    lr: float = setting(5e-5, above=0)
    weight_decay: float = setting(0.0, at_least=0)


def predicted_maps(auxiliary: str) -> tuple[str, ...]:
    """The auxiliary maps a variant predicts and trains on: depth, reflection, both, or none for the baseline."""
    return tuple(name for name in ("depth", "reflection") if auxiliary in (name, "added", "subtracted"))


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> HSV, every channel in [0, 1]; hue = degrees / 360.

    Gray pixels get hue 0 and black ones saturation 0, as in ``colorsys``.
    """
    value, brightest = rgb.max(1)  # ties go to the first channel, as colorsys checks r, then g, then b
    chroma = value - rgb.min(1).values
    saturation = chroma / value.clamp_min(1e-12)
    red, green, blue = rgb.unbind(1)
    safe_chroma = chroma.clamp_min(1e-12)
    hue_sixths = torch.where(
        brightest == 0,
        ((green - blue) / safe_chroma).remainder(6.0),
        torch.where(brightest == 1, (blue - red) / safe_chroma + 2.0, (red - green) / safe_chroma + 4.0),
    )
    hue = torch.where(chroma > 0, hue_sixths / 6.0, torch.zeros_like(chroma))
    return torch.stack([hue, saturation, value], 1)


def to_rgb_hsv(image: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) ImageNet-normalized image -> (B, 6, H, W): RGB in [0, 1], then HSV."""
    image = image.float()  # hue's divisions by small chromas need fp32's mantissa
    mean = image.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = image.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    rgb = (image * std + mean).clamp(0.0, 1.0)  # clamp: float round-off of the normalization
    return torch.cat([rgb, rgb_to_hsv(rgb)], 1)


def mean_squared_l1(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(1/N) Σ_i ‖prediction_i − target_i‖₁²: per image, the absolute errors summed over its map and squared;
    averaged over the N images.

    In fp32 whatever the run's precision: a bf16 sum over a whole map keeps three significant digits.
    """
    return (prediction.float() - target.float()).abs().flatten(1).sum(1).square().mean()


def map_loss_weight(paper_weight: float, map_size: tuple[int, int]) -> float:
    """λ for an h×w map given the paper's λ for its 64x64 map: λ · (64² / (h·w))² (why: the module docstring)."""
    height, width = map_size
    return paper_weight * (PAPER_MAP_PIXELS / (height * width)) ** 2


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area averaging to shrink, bilinear interpolation to enlarge."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if x.shape[-2] >= size[0] and x.shape[-1] >= size[1]:
        return F.adaptive_avg_pool2d(x, size)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _conv_bn(in_channels: int, out_channels: int, kernel: int = 3) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(out_channels)]


def _conv_bn_relu(in_channels: int, out_channels: int, kernel: int = 3) -> list[nn.Module]:
    return [*_conv_bn(in_channels, out_channels, kernel), nn.ReLU(inplace=True)]


class AuxiliaryExtractor(nn.Module):
    """Two conv + BN + ReLU give the feature the enrichment path uses; a last conv regresses the map.

    The depth (1 channel) and reflection (3 channels) extractors are this same
    structure, so their features have the same shape and can be subtracted.
    """

    def __init__(self, in_channels: int, hidden: int, map_channels: int) -> None:
        super().__init__()
        self.features = nn.Sequential(*_conv_bn_relu(in_channels, hidden), *_conv_bn_relu(hidden, hidden))
        self.to_map = nn.Conv2d(hidden, map_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feature = self.features(x)  # (B, hidden, S/4, S/4)
        return feature, self.to_map(feature)  # map: (B, map_channels, S/4, S/4)


class WholeMapConv(nn.Module):
    """The classifier's last layer: an 8x8 convolution over the whole map, resized to 8x8 first.

    At 256² input the map is already 8x8 and this is a plain 8x8 convolution;
    elsewhere the resizing keeps one set of weights covering the whole map.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, FINAL_GRID)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # adaptive pooling to a larger grid repeats cells: nearest-neighbour enlargement.
        x = F.adaptive_avg_pool2d(x, FINAL_GRID) if tuple(x.shape[-2:]) != (FINAL_GRID, FINAL_GRID) else x
        return torch.flatten(self.conv(x), 1)  # (B, out_channels)


class BasnNet(nn.Module):
    """The BASN network: RGB+HSV input, VGG-16 blocks, auxiliary extractors, enrichment, classifier."""

    def __init__(self, backbone: nn.Module, auxiliary: str) -> None:
        super().__init__()
        if not isinstance(backbone, StagedBackbone) or len(backbone.stage_channels) != 5:
            name = type(backbone).__name__
            raise DgfasError(f"basn needs a backbone with five stages (conv1..conv5), such as vgg16; got {name}")
        c1, c2, c3, c4, c5 = backbone.stage_channels
        predicted = predicted_maps(auxiliary)
        self.auxiliary = auxiliary
        self.input_conv = nn.Conv2d(6, 3, 3, padding=1)
        self.backbone = backbone
        self.backbone_conv = nn.Sequential(*_conv_bn_relu(c2 + c3 + c4 + c5, c3))
        self.depth_extractor = AuxiliaryExtractor(c2 + c3 + c4, c1, 1) if "depth" in predicted else None
        self.reflection_extractor = AuxiliaryExtractor(c2 + c3 + c4, c1, 3) if "reflection" in predicted else None
        # No activations on the enrichment path: the feature difference keeps its sign.
        self.enrichment = (
            nn.Sequential(*_conv_bn(c1, c3), nn.MaxPool2d(2), *_conv_bn(c3, c3), nn.MaxPool2d(2))
            if auxiliary != "none"
            else None
        )
        self.classifier = nn.Sequential(
            *_conv_bn_relu(c3, c3), nn.MaxPool2d(2), *_conv_bn_relu(c3, c3, kernel=1), WholeMapConv(c3, 2)
        )

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """``logits`` (B, 2), the classifier's input ``features`` (B, C, S/16, S/16) and the predicted maps."""
        stages = self.backbone.stages(self.input_conv(to_rgb_hsv(image)))
        height, width = image.shape[-2:]
        auxiliary_size = (height // 4, width // 4)
        enriched_size = (auxiliary_size[0] // 4, auxiliary_size[1] // 4)  # after the enrichment's two 2x2 poolings
        features = self.backbone_conv(torch.cat([_resize(s, enriched_size) for s in stages[1:]], 1))
        out: dict[str, torch.Tensor] = {}
        if self.enrichment is not None:
            auxiliary_input = torch.cat([_resize(s, auxiliary_size) for s in stages[1:4]], 1)
            depth_feature = reflection_feature = None
            if self.depth_extractor is not None:
                depth_feature, out["depth"] = self.depth_extractor(auxiliary_input)
            if self.reflection_extractor is not None:
                reflection_feature, out["reflection"] = self.reflection_extractor(auxiliary_input)
            if self.auxiliary == "subtracted":
                combined = depth_feature - reflection_feature
            elif self.auxiliary == "added":
                combined = depth_feature + reflection_feature
            else:
                combined = depth_feature if depth_feature is not None else reflection_feature
            features = features + self.enrichment(combined)
        out["features"] = features
        out["logits"] = self.classifier(features)
        return out


@register_algorithm("basn")
class Basn(Algorithm):
    Config = BasnConfig
    # Around the paper's values: its small learning rate and its tiny map-loss weights
    # (for squared-L1 norms of 64x64 maps, rescaled to the run's maps), a decade-wide log range each.
    search_space = {
        "lr": LogUniform(1e-5, 2.5e-4),
        "cls_weight": LogUniform(1.0, 100.0),
        "depth_weight": LogUniform(5e-6, 5e-4),
        "reflection_weight": LogUniform(5e-6, 5e-4),
    }
    maps = ("depth", "reflection")

    @classmethod
    def maps_for(cls, config: BasnConfig) -> tuple[str, ...]:
        return predicted_maps(config.auxiliary)

    def __init__(self, config: BasnConfig, model_config, domains: list[str]) -> None:
        super().__init__(config, model_config, domains)
        self.net = BasnNet(get_model(config.model).build(model_config), config.auxiliary)
        self.register_optimizer(torch.optim.Adam(self.net.parameters(), lr=config.lr, weight_decay=config.weight_decay))

    def task_losses(self, out: dict[str, torch.Tensor], batch: Batch) -> dict[str, torch.Tensor]:
        """Unweighted cross-entropy and, for the maps this variant predicts, the paper's L_depth and L_ref."""
        losses = {"cls": F.cross_entropy(out["logits"], batch.label.long())}
        for name in ("depth", "reflection"):
            if name in out:  # ground truth area-averaged onto the predicted map's grid
                losses[name] = mean_squared_l1(out[name], _resize(getattr(batch, name), out[name].shape[-2:]))
        return losses

    def weighted(self, losses: dict[str, torch.Tensor], out: dict[str, torch.Tensor]) -> torch.Tensor:
        """L = λ1 · CE + λ2 · L_depth + λ3 · L_ref, λ2 and λ3 rescaled to the size of the maps in ``out``."""
        paper_weights = {"depth": self.config.depth_weight, "reflection": self.config.reflection_weight}
        total = self.config.cls_weight * losses["cls"]
        for name, paper_weight in paper_weights.items():
            if name in losses:
                total = total + map_loss_weight(paper_weight, tuple(out[name].shape[-2:])) * losses[name]
        return total

    def update(self, batches_by_domain: dict[str, Batch]) -> dict[str, float]:
        joined = Batch.join(list(batches_by_domain.values()))
        out = self.net(joined.image)
        losses = self.task_losses(out, joined)
        total = self.weighted(losses, out)
        self.minimize(total)
        return {"loss": total.item(), **{k: v.item() for k, v in losses.items()}}

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x)["logits"].float(), 1)[:, 1]  # fp32: bf16 would tie confident scores

    def output_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.net(x)  # depth (B, 1, S/4, S/4) and reflection (B, 3, S/4, S/4), as the variant predicts
        return {name: out[name] for name in ("depth", "reflection") if name in out}
