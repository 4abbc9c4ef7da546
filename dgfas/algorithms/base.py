"""The narrow algorithm contract every method implements (as in DomainBed).

The trainer hands ``update`` one balanced batch per source domain and asks
``predict`` for liveness scores; everything else (optimizers, meta-train /
meta-test splits, auxiliary losses) stays inside the algorithm, so the
trainer, MLflow and protocols never reach into a method.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable, ClassVar

import torch
from torch import nn

from dgfas.errors import DgfasError
from dgfas.hparams import Distribution

#: The statistics the trainer normalizes images with, so a torchvision weights file
#: sees the inputs it expects; a method that needs raw colours undoes it with these.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class Batch:
    """One domain's training batch.

    For a clip method every tensor has an extra time dimension after the
    batch one: image (B, T, 3, H, W), depth (B, T, 1, H, W), pulse (B, T);
    label stays (B,), one per clip.

    Attributes:
        image: (B, 3, H, W) float, normalized with ImageNet statistics.
        label: (B,) float, 1 = live, 0 = spoof.
        depth: (B, 1, H, W) float in [0, 1], zeros for spoofs; only if requested.
        parsing: (B, H, W) int64 class ids; only if requested.
        reflection: (B, 3, H, W) float, zeros for lives; only if requested.
        pulse: (B,) float rPPG ground truth of the frame, zeros for spoofs; only if requested.
    """

    image: torch.Tensor
    label: torch.Tensor
    depth: torch.Tensor | None = None
    parsing: torch.Tensor | None = None
    reflection: torch.Tensor | None = None
    pulse: torch.Tensor | None = None

    @classmethod
    def join(cls, batches: list["Batch"]) -> "Batch":
        """Several domains' batches as one: every field all of them carry, concatenated along the batch axis."""
        joined = {}
        for field in fields(cls):
            values = [getattr(b, field.name) for b in batches]
            joined[field.name] = None if any(v is None for v in values) else torch.cat(values)
        return cls(**joined)

    def to(self, device: torch.device) -> "Batch":
        moved = {}
        for field in fields(self):
            value = getattr(self, field.name)
            moved[field.name] = None if value is None else value.to(device, non_blocking=True)
        return Batch(**moved)


class Algorithm(nn.Module):
    """Base class: a model plus the rule that trains it.

    Subclasses set ``Config`` (a dataclass of hyper-parameters with defaults)
    and ``maps`` (the ground-truth maps they train on: :class:`Batch`'s
    optional fields, the maps :data:`dgfas.data.frame_cache.MAPS` stores;
    one whose config leaves some unused also narrows them in ``maps_for``),
    build their networks in ``__init__`` and register their optimizers there
    (``register_optimizer``), and implement ``update`` and ``scores`` (and
    ``output_maps`` if they predict dense maps worth looking at). A
    method that needs consecutive frames sets ``clip_length`` above 1; the
    trainer then feeds it clips (see :class:`Batch`) for training and scoring.
    ``search_space`` says where ``dgfas sweep --draws`` draws each tuned
    ``Config`` field from; fields it leaves out keep their defaults.

    The trainer may run ``update`` and ``predict`` under bf16 autocast
    (:mod:`dgfas.precision`). A method computes in fp32 what has no bf16
    kernel or needs fp32's mantissa (:func:`dgfas.precision.in_fp32`), and
    its scores from fp32 values (bf16 has 26 values between 0.9 and 1, which
    would tie scores and blur AUC and EER).
    """

    Config: ClassVar[type]
    search_space: ClassVar[dict[str, Distribution]] = {}
    maps: ClassVar[tuple[str, ...]] = ()
    clip_length: int = 1
    #: How the trainer lays out the model's weights and input images. Channels-last
    #: is faster for plain convolutions, but slower where a method differentiates
    #: twice through batch norm (a meta step), so each method may choose.
    memory_format: ClassVar[torch.memory_format] = torch.channels_last

    def __init__(self, config, model_config, domains: list[str]) -> None:
        super().__init__()
        self.config = config
        self.model_config = model_config
        self.domains = list(domains)
        self._optimizers: list[torch.optim.Optimizer] = []

    @classmethod
    def maps_for(cls, config) -> tuple[str, ...]:
        """The ground-truth maps a run with ``config`` trains on: ``maps`` unless the method narrows them.

        The trainer loads only these, so a variant that trains on fewer maps
        (an ablation, another target) neither holds the others in memory nor
        needs a data source that gives them.
        """
        return cls.maps

    @classmethod
    def check_sources(cls, config, domains: list[str]) -> None:
        """Raise :class:`~dgfas.errors.UnsupportedSetting` if ``config`` cannot train on these source domains.

        Called before any data is loaded, so a benchmark can skip the job
        instead of failing halfway through it.
        """

    def update(self, batches_by_domain: dict[str, Batch]) -> dict[str, float]:
        """One training step; returns the losses to log, by name."""
        raise NotImplementedError

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """(B,) liveness scores for a batch of images (or clips), higher = more live."""
        raise NotImplementedError

    def output_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Dense maps the method predicts for (B, 3, H, W) frames, by name; empty if it predicts none.

        Each map is (B, C, h, w): C = 1 for a value map meant to lie in [0, 1] (depth),
        3 for an RGB map (reflection), more for one score per class (parsing logits).
        A clip method gets single frames here. The maps are for looking at (the HTML
        leaderboard's gallery), not for scoring.
        """
        return {}

    def register_optimizer(self, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        """Declare ``optimizer`` one the method owns: :meth:`minimize` steps it and the trainer checkpoints it."""
        self._optimizers.append(optimizer)
        return optimizer

    def optimizers(self) -> list[torch.optim.Optimizer]:
        """The optimizers the method registered, in registration order: the order a checkpoint stores their states in."""
        return list(self._optimizers)

    def minimize(self, loss: torch.Tensor) -> None:
        """One gradient step on ``loss``: clear every registered optimizer's gradients, backpropagate, step each.

        Runs inside ``update``, so under the run's autocast like the loss itself;
        bf16 needs no loss scaling, so there is none (:mod:`dgfas.precision`).
        A method whose optimizers step on different losses steps them itself;
        registering them still has the trainer checkpoint them.
        """
        if not self._optimizers:
            raise DgfasError(f"{type(self).__name__} has no optimizer to step: register it with register_optimizer()")
        for optimizer in self._optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer in self._optimizers:
            optimizer.step()

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Liveness scores in eval mode, fp32 whatever the run's precision; the caller's train/eval mode is restored."""
        return self._in_eval_mode(self.scores, x).float()

    @torch.no_grad()
    def predict_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``output_maps`` in eval mode and fp32, as ``predict`` is ``scores`` in eval mode."""
        return {name: value.float() for name, value in self._in_eval_mode(self.output_maps, x).items()}

    def _in_eval_mode(self, compute: Callable[[torch.Tensor], Any], x: torch.Tensor) -> Any:
        was_training = self.training
        self.eval()
        try:
            return compute(x)
        finally:
            self.train(was_training)
