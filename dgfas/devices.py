"""The devices a run may compute on: which this machine has, the one ``trainer.device`` names, and its model name.

Kept apart from resolving a run because the benchmark, the command line and
the throughput script ask the same questions of the machine, and a device is
checked here once, before any data is built, rather than failing at the first
tensor moved to it.
"""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from dgfas.errors import DgfasError


def available_devices() -> list[str]:
    """The values ``trainer.device`` may take on this machine: ``auto``, ``cpu`` and each accelerator present."""
    names = ["auto", "cpu"]
    if torch.cuda.is_available():
        names += ["cuda", *(f"cuda:{index}" for index in range(torch.cuda.device_count()))]
    if torch.backends.mps.is_available():
        names.append("mps")
    return names


def pick_device(name: str) -> torch.device:
    """The device ``trainer.device`` names; ``auto`` is CUDA when present.

    A device this machine lacks (``cuda`` without a GPU, ``cuda:3`` on a
    two-GPU node) is a one-line error here, before any data is built, rather
    than a traceback from the first tensor moved to it.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    available = available_devices()
    if name not in available:
        raise DgfasError(f"trainer.device must be one of {available} on this machine, got {name!r}")
    return torch.device(name)


def device_name(device: torch.device) -> str:
    """The model name of the processor a run computes on: the GPU's, or the CPU's.

    Logged with each run because float rounding differs between CPU kernels
    and GPUs, and at small presets that moves a leaderboard cell by points.
    """
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        cpuinfo = ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return value.strip()
    return platform.processor() or platform.machine() or "unknown CPU"
