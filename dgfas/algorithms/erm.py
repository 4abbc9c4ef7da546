"""ERM: a plain binary live/spoof classifier on pooled backbone features.

The baseline every DG-FAS table starts from: all source domains are pooled
into one batch and the model minimizes binary cross-entropy,

    L = BCE(sigmoid(w^T f(x) + b), y),  y = 1 live, 0 spoof,

with Adam. No domain labels and no auxiliary supervision are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dgfas.algorithms.base import Algorithm, Batch
from dgfas.algorithms.registry import register_algorithm
from dgfas.config import setting
from dgfas.hparams import LogUniform
from dgfas.models import MODELS, get_model


@dataclass(frozen=True)
class ErmConfig:
    """Attributes:
    model: backbone name in the model registry.
    lr: Adam learning rate.
    weight_decay: L2 penalty (Adam's coupled form, as in SSDG-style code).
    """

    model: str = setting("resnet18", choices=MODELS)
    lr: float = setting(1e-3, above=0)
    weight_decay: float = setting(5e-4, at_least=0)


@register_algorithm("erm")
class Erm(Algorithm):
    Config = ErmConfig
    # A decade either side of the defaults, on a log scale.
    search_space = {"lr": LogUniform(1e-4, 1e-2), "weight_decay": LogUniform(1e-5, 1e-2)}

    def __init__(self, config: ErmConfig, model_config, domains: list[str]) -> None:
        super().__init__(config, model_config, domains)
        self.backbone = get_model(config.model).build(model_config)
        self.classifier = nn.Linear(self.backbone.out_features, 1)
        self.register_optimizer(torch.optim.Adam(self.parameters(), lr=config.lr, weight_decay=config.weight_decay))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.backbone(x)).squeeze(1)

    def update(self, batches_by_domain: dict[str, Batch]) -> dict[str, float]:
        joined = Batch.join(list(batches_by_domain.values()))
        loss = F.binary_cross_entropy_with_logits(self.logits(joined.image), joined.label)
        self.minimize(loss)
        return {"loss": loss.item()}

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x).float())  # fp32: bf16 would tie confident scores
