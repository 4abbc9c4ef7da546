"""Multi-task depth + face parsing + live/spoof learning with meta-train/meta-test splits
and a one-side meta triplet loss (Chuang, Wang and Lai, FG 2023).

Model: a shared encoder (a registered backbone with ``stages``), a live/spoof
classifier on its pooled features, a coarse depth head (:class:`DepthHead`)
and a U-Net face-parsing head (:class:`ParsingHead`). The pooled features are
also the triplet embedding.

Task loss of a batch B under weights w:

    L_task(w; B) = BCE(logit, y) + λ_d · MSE(depth, D) + λ_p · CE(parsing, P)

with D the face depth for lives and zeros for spoofs (ground truth resized by
area averaging to the depth grid) and P the parsing of the face as it appears
in the image, lives and spoofs alike.

Update, each iteration (``meta = True``): the source domains are shuffled; the
last one is meta-test (B_te), the others are meta-train (B_tr), and

    L_tr = L_task(θ; B_tr),    θ' = θ − α ∇θ L_tr,
    L_te = L_task(θ'; B_te) + λ_t · T(f_θ(B_tr) ∪ f_θ'(B_te)),
    θ ← Adam(θ, ∇θ [L_tr + β · L_te]),

second order through θ' by default (``first_order`` drops ∂²). T is the
one-side triplet loss (:mod:`dgfas.algorithms.triplet`) over the meta-train
embeddings under θ and the meta-test embeddings under θ': the adapted model
must embed the held-out domain's live faces near the other domains' live
faces and away from every spoof, which is the "meta triplet".

Choices the paper's description leaves open, made here:
    * The inner step adapts every parameter (encoder and all heads), with
      plain SGD of size α = ``inner_lr``; one inner step.
    * The triplet loss is only in the meta-test objective; the meta-train loss
      is the task loss. Its embeddings mix θ (meta-train) and θ' (meta-test)
      rather than re-embedding B_tr under θ', which would cost a third forward
      pass per step. Mining is batch-hard by default (``triplet_mining``).
    * Binary cross-entropy on one logit is the classification cross-entropy,
      and the test score is sigmoid(logit); the depth map is not fused into it.
    * BatchNorm follows :mod:`dgfas.algorithms.inner_step`: batch statistics in
      every pass, running statistics updated by the meta-train pass only. The
      model's convolutions and batch norms are :mod:`dgfas.algorithms.meta_layers`,
      whose second derivatives are exact and cheap, so the second-order term costs
      arithmetic rather than kernel launches; the meta-gradient is the native
      layers' own.
    * Defaults: λ_d = 10 (as in RFM's depth term), λ_p = 1, λ_t = 1, margin
      0.5, α = 0.01, β = 1, Adam at 1e-3 with weight decay 5e-4 (as ERM).
    * With ``meta = False`` (the ablation) the same losses, the triplet term
      included, are minimized jointly on all source domains with Adam.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dgfas.algorithms.base import Algorithm, Batch
from dgfas.algorithms.inner_step import INNER_STEPS, get_inner_step
from dgfas.algorithms.meta_layers import with_meta_layers
from dgfas.algorithms.registry import register_algorithm
from dgfas.algorithms.triplet import TRIPLET_MINING, one_side_triplet_loss
from dgfas.config import setting
from dgfas.data.frames import PARSING_CLASSES
from dgfas.errors import DgfasError, UnsupportedSetting
from dgfas.hparams import LogUniform
from dgfas.models import MODELS, get_model
from dgfas.models.heads import DepthHead, ParsingHead
from dgfas.models.registry import StagedBackbone


@dataclass(frozen=True)
class MultitaskMetaConfig:
    """Attributes:
    model: backbone name in the model registry (must expose ``stages``).
    lr: Adam learning rate of the outer update.
    weight_decay: Adam's (coupled) L2 penalty.
    depth: train the depth head (ablation switch).
    parsing: train the face-parsing head (ablation switch).
    triplet: add the one-side triplet loss (ablation switch).
    meta: meta-train/meta-test splits; False trains all losses jointly (ablation switch).
    depth_weight: λ_d.
    parsing_weight: λ_p.
    triplet_weight: λ_t.
    triplet_margin: hinge margin on the unit sphere.
    triplet_mining: ``hard`` or ``all``.
    inner_lr: α, the inner SGD step size.
    meta_test_weight: β.
    first_order: drop the second-order term of the meta-gradient.
    engine: inner-step engine: ``torch_func``, ``higher`` or ``learn2learn``.
    """

    model: str = setting("resnet18", choices=MODELS)
    lr: float = setting(1e-3, above=0)
    weight_decay: float = setting(5e-4, at_least=0)
    depth: bool = True
    parsing: bool = True
    triplet: bool = True
    meta: bool = True
    depth_weight: float = setting(10.0, at_least=0)
    parsing_weight: float = setting(1.0, at_least=0)
    triplet_weight: float = setting(1.0, at_least=0)
    triplet_margin: float = setting(0.5, at_least=0, at_most=2, why="the distance between unit vectors is at most 2")
    triplet_mining: str = setting("hard", choices=TRIPLET_MINING)
    inner_lr: float = setting(0.01, above=0)
    meta_test_weight: float = setting(1.0, at_least=0)
    first_order: bool = False
    engine: str = setting("torch_func", choices=INNER_STEPS)


class MultiTaskNet(nn.Module):
    """Encoder + classifier + optional depth and parsing heads; one forward returns all outputs."""

    def __init__(self, backbone: nn.Module, depth: bool, parsing: bool) -> None:
        super().__init__()
        if not isinstance(backbone, StagedBackbone):
            raise DgfasError(f"backbone {type(backbone).__name__} has no stages() for the depth and parsing heads")
        if len(backbone.stage_channels) != 4:
            raise DgfasError(
                f"multitask_meta's heads need a backbone with four stages at strides 4-32, such as resnet18; "
                f"{type(backbone).__name__} has {len(backbone.stage_channels)}"
            )
        self.backbone = backbone
        self.classifier = nn.Linear(backbone.out_features, 1)
        self.depth_head = DepthHead(backbone.stage_channels) if depth else None
        self.parsing_head = ParsingHead(backbone.stage_channels, len(PARSING_CLASSES)) if parsing else None

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        stages = self.backbone.stages(x)
        embedding = torch.flatten(F.adaptive_avg_pool2d(stages[-1], 1), 1)  # (B, D), pooled as the backbone pools
        out = {"embedding": embedding, "logit": self.classifier(embedding).squeeze(1)}
        if self.depth_head is not None:
            out["depth"] = self.depth_head(stages)  # (B, 1, H/8, W/8)
        if self.parsing_head is not None:
            out["parsing"] = self.parsing_head(stages, x.shape[-2:])  # (B, classes, H, W)
        return out


@dataclass
class _Joined:
    """Several domains' batches as one, with each sample's domain index."""

    batch: Batch
    domain: torch.Tensor


@register_algorithm("multitask_meta")
class MultitaskMeta(Algorithm):
    Config = MultitaskMetaConfig
    # About a decade either side of the defaults; the ablation switches are not tuned.
    search_space = {
        "lr": LogUniform(1e-4, 1e-2),
        "weight_decay": LogUniform(1e-5, 1e-2),
        "inner_lr": LogUniform(1e-3, 1e-1),
        "depth_weight": LogUniform(1.0, 100.0),
        "triplet_weight": LogUniform(0.1, 10.0),
    }
    maps = ("depth", "parsing")

    @classmethod
    def maps_for(cls, config: MultitaskMetaConfig) -> tuple[str, ...]:
        # the ablation switches turn each map's head and loss off
        return tuple(name for name, trained in (("depth", config.depth), ("parsing", config.parsing)) if trained)

    def __init__(self, config: MultitaskMetaConfig, model_config, domains: list[str]) -> None:
        super().__init__(config, model_config, domains)
        self.inner_step = get_inner_step(config.engine)
        self.check_sources(config, domains)
        self.net = with_meta_layers(MultiTaskNet(get_model(config.model).build(model_config), config.depth, config.parsing))
        # Fused: one kernel for all ~80 parameters instead of a Python loop over them
        # (the same update; half the optimizer's time on the CPU).
        self.register_optimizer(
            torch.optim.Adam(self.net.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True)
        )

    @classmethod
    def check_sources(cls, config: MultitaskMetaConfig, domains: list[str]) -> None:
        # A meta-test domain, and live positives from another domain, need a second source.
        if (config.meta or config.triplet) and len(domains) < 2:
            raise UnsupportedSetting(
                f"multitask_meta with meta or triplet needs at least 2 source domains, got {domains}; "
                "set algorithm.meta=false and algorithm.triplet=false for a single source"
            )

    def _join(self, batches_by_domain: dict[str, Batch], names: list[str]) -> _Joined:
        batches = [batches_by_domain[n] for n in names]
        domain = torch.cat([torch.full_like(b.label, self.domains.index(n), dtype=torch.long) for n, b in zip(names, batches)])
        return _Joined(Batch.join(batches), domain)

    def task_losses(self, out: dict[str, torch.Tensor], batch: Batch) -> dict[str, torch.Tensor]:
        """Unweighted classification, depth and parsing losses of one pass."""
        losses = {"cls": F.binary_cross_entropy_with_logits(out["logit"], batch.label)}
        if self.config.depth:
            target = F.adaptive_avg_pool2d(batch.depth, out["depth"].shape[-2:])
            losses["depth"] = F.mse_loss(out["depth"], target)
        if self.config.parsing:
            losses["parsing"] = F.cross_entropy(out["parsing"], batch.parsing)
        return losses

    def triplet_loss(self, embedding: torch.Tensor, label: torch.Tensor, domain: torch.Tensor) -> torch.Tensor:
        return one_side_triplet_loss(embedding, label, domain, self.config.triplet_margin, self.config.triplet_mining)

    def weighted(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        weights = {
            "cls": 1.0,
            "depth": self.config.depth_weight,
            "parsing": self.config.parsing_weight,
            "triplet": self.config.triplet_weight,
        }
        return sum(weights[name] * value for name, value in losses.items())

    def update(self, batches_by_domain: dict[str, Batch]) -> dict[str, float]:
        names = list(batches_by_domain)
        logged: dict[str, torch.Tensor] = {}
        if self.config.meta:
            order = torch.randperm(len(names)).tolist()
            meta_train = self._join(batches_by_domain, [names[i] for i in order[:-1]])
            meta_test = self._join(batches_by_domain, [names[order[-1]]])
            meta_train_out: dict[str, torch.Tensor] = {}

            def meta_train_loss(forward) -> torch.Tensor:
                out = forward(meta_train.batch.image)
                meta_train_out.update(out)
                losses = self.task_losses(out, meta_train.batch)
                logged.update({f"meta_train.{k}": v for k, v in losses.items()})
                return self.weighted(losses)

            def meta_test_loss(forward) -> torch.Tensor:
                out = forward(meta_test.batch.image)
                losses = self.task_losses(out, meta_test.batch)
                if self.config.triplet:
                    losses["triplet"] = self.triplet_loss(
                        torch.cat([meta_train_out["embedding"], out["embedding"]]),
                        torch.cat([meta_train.batch.label, meta_test.batch.label]),
                        torch.cat([meta_train.domain, meta_test.domain]),
                    )
                logged.update({f"meta_test.{k}": v for k, v in losses.items()})
                return self.weighted(losses)

            train_loss, test_loss = self.inner_step(
                self.net, meta_train_loss, meta_test_loss, self.config.inner_lr, self.config.first_order
            )
            total = train_loss + self.config.meta_test_weight * test_loss
        else:
            joined = self._join(batches_by_domain, names)
            out = self.net(joined.batch.image)
            losses = self.task_losses(out, joined.batch)
            if self.config.triplet:
                losses["triplet"] = self.triplet_loss(out["embedding"], joined.batch.label, joined.domain)
            logged.update(losses)
            total = self.weighted(losses)
        self.minimize(total)
        return {"loss": total.item(), **{k: v.item() for k, v in logged.items()}}

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        # Only the encoder and classifier: the dense heads do not enter the score. The sigmoid
        # takes fp32 logits: in bf16 confident scores would tie, blurring AUC and EER.
        return torch.sigmoid(self.net.classifier(self.net.backbone(x)).squeeze(1).float())

    def output_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.net(x)  # depth (B, 1, H/8, W/8), parsing logits (B, classes, H, W), as the ablation keeps
        return {name: out[name] for name in ("depth", "parsing") if name in out}
