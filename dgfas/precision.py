"""Numeric precision of a run: ``auto``, ``fp32`` or ``bf16``.

bf16 autocast roughly halves a step's time on a recent GPU, while on a CPU
it is slower than fp32 for most kernels; ``auto`` therefore means bf16 on
CUDA and fp32 elsewhere. The resolved precision, not the name asked for, is
what changes a run's numbers, so it is what a run records and is keyed by.
Scores and metrics are computed in fp32 whatever the training precision.

Autocast's choice of which operations run in bf16 differs by device: on the
CPU it runs FFTs and linear algebra in fp32 by itself, on CUDA it passes bf16
to cuFFT, which has no bf16 kernel. A method therefore says where it needs
fp32 (:func:`in_fp32`), so that a CPU test exercises what a GPU run does.
"""

from __future__ import annotations

import contextlib

import torch

from dgfas.errors import DgfasError

PRECISIONS = ("auto", "fp32", "bf16")


def resolve_precision(name: str, device: torch.device) -> str:
    """``fp32`` or ``bf16``: what ``name`` means on ``device``."""
    if name not in PRECISIONS:
        raise DgfasError(f"trainer.precision must be one of {list(PRECISIONS)}, got {name!r}")
    if name == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    return name


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The autocast context of a resolved ``precision`` on ``device``; fp32 runs without one.

    Autocast's cache of bf16 weight copies is off: it lives as long as the
    context, so a forward pass after an optimizer step inside the same context
    (an update that steps twice, or a loop under one context) would run on the
    weights from before the step. Turning it off costs a second cast only where
    one context runs the same weights forward twice, which no registered update does.
    """
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False)
    return contextlib.nullcontext()


def in_fp32(device: torch.device) -> contextlib.AbstractContextManager:
    """A region of a bf16 run computed in fp32: for operations with no bf16 kernel or that need fp32's mantissa.

    Autocast is off inside, so operations run in their inputs' dtype: the
    caller casts bf16 inputs with ``.float()`` (the cast is differentiable, so
    gradients flow back to the bf16 activations). Outside a bf16 run it changes nothing.
    """
    return torch.autocast(device.type, enabled=False)
