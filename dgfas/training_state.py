"""A run's training state: what a checkpoint saves so a run goes on from a step exactly as if never stopped.

Kept beside the loop rather than inside it because the file format is a
contract of its own: a resumed run must restore weights, optimizers, random
generators, samplers and the best candidate so far bit for bit, and a file
of another format is refused rather than misread.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dgfas import checkpoints
from dgfas.algorithms import Algorithm
from dgfas.data.batches import TrainingBatches


#: Version of the training-state file :meth:`TrainingState.save` writes; a file of
#: another version is refused rather than misread. Format 4 holds tensors and plain
#: values only and keeps its sha256 beside it (:mod:`dgfas.checkpoints`).
CHECKPOINT_FORMAT = 4


@dataclass
class TrainingState:
    """Everything a run needs to go on from a step exactly as if never stopped.

    ``target_scores`` keeps each evaluation's target-test video scores (one
    float per video, in the order of the ``target_test.video`` table, which
    is the same at every evaluation): the score files of the checkpoints other
    selection rules pick are written from them without scoring again.
    """

    algorithm: Algorithm
    batches: TrainingBatches
    step: int = 0
    best_key: tuple | None = None
    best_step: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    evaluations: dict[int, dict[str, float]] = dataclasses.field(default_factory=dict)
    target_scores: dict[int, np.ndarray] = dataclasses.field(default_factory=dict)

    def save(self, path: Path) -> None:
        """Write the state to ``path``, with its sha256 beside it (:mod:`dgfas.checkpoints`).

        Numpy arrays (sampler orders, target scores) become tensors and numpy
        numbers Python ones, since loading must not build anything else.
        """
        batches = self.batches.state()
        best_key = None if self.best_key is None else tuple(_plain_number(v) for v in self.best_key)
        snapshot = {
            "format": CHECKPOINT_FORMAT,
            "step": self.step,
            "algorithm": self.algorithm.state_dict(),
            "optimizers": [o.state_dict() for o in self.algorithm.optimizers()],
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": batches["numpy_rng"],  # a dict of ints and strings
            "sampler_orders": {domain: [torch.tensor(order) for order in orders]
                               for domain, orders in batches["sampler_orders"].items()},
            "best": (best_key, self.best_step, self.best_state),
            "evaluations": {step: {k: float(v) for k, v in metrics.items()}
                            for step, metrics in self.evaluations.items()},
            "target_scores": {step: torch.tensor(scores) for step, scores in self.target_scores.items()},
        }
        checkpoints.save(path, snapshot)

    def restore(self, path: Path) -> None:
        """Go on from the state saved in ``path``; a file that is not one :meth:`save` wrote is a one-line error."""
        saved = checkpoints.load(path)
        version = saved.get("format") if isinstance(saved, dict) else None
        if version != CHECKPOINT_FORMAT:
            raise checkpoints.refusal(
                path, f"written by another dgfas version: format {version}, this one reads {CHECKPOINT_FORMAT}")
        try:
            self.algorithm.load_state_dict(saved["algorithm"])
            for optimizer, optimizer_state in zip(self.algorithm.optimizers(), saved["optimizers"], strict=True):
                optimizer.load_state_dict(optimizer_state)
            torch.set_rng_state(saved["torch_rng"])
            self.batches.load_state({
                "numpy_rng": saved["numpy_rng"],
                "sampler_orders": {domain: [order.numpy() for order in orders]
                                   for domain, orders in saved["sampler_orders"].items()},
            })
            self.best_key, self.best_step, self.best_state = saved["best"]
            self.evaluations = saved["evaluations"]
            self.target_scores = {step: scores.numpy() for step, scores in saved["target_scores"].items()}
            self.step = saved["step"]
        except Exception as err:  # load_state_dict raises many types
            raise checkpoints.refusal(path, str(err).splitlines()[0] if str(err) else type(err).__name__) from None


def _plain_number(value: Any) -> Any:
    """``value`` as a Python number if it is a numpy one (a selection key may hold metrics of either)."""
    return value.item() if isinstance(value, np.generic) else value
