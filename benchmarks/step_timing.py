"""What the step benchmarks share: an algorithm built at a preset, random batches, a timer.

Kept apart from ``dgfas`` because only the scripts in ``benchmarks/`` use it.
"""

from __future__ import annotations

import contextlib
import statistics
import time

import torch

from dgfas.algorithms import Algorithm, Batch, get_algorithm
from dgfas.config import with_overrides
from dgfas.data.frames import PARSING_CLASSES
from dgfas.presets import Preset
from dgfas.run import resolve_model_config

DOMAINS = ("a", "b", "c")
WARM_UP = 3


def build_algorithm(method: str, overrides: dict, preset: Preset, device: torch.device, fmt: torch.memory_format) -> Algorithm:
    cls = get_algorithm(method)
    config = with_overrides(cls.Config(), overrides)
    torch.manual_seed(0)
    algorithm = cls(config, resolve_model_config(preset, config.model, {}, "synthetic"), list(DOMAINS))
    return algorithm.to(device).to(memory_format=fmt)


def random_batches(preset: Preset, device: torch.device, fmt: torch.memory_format, clip_length: int = 1) -> dict[str, Batch]:
    """One batch per domain at the preset's size, half live, with every ground-truth map.

    A clip method (``clip_length`` > 1) gets ``batch_per_domain // clip_length``
    clips, as the trainer gives it, so both kinds see as many images.
    """
    generator = torch.Generator().manual_seed(0)
    size = preset.image_size
    n = preset.batch_per_domain if clip_length == 1 else max(2, preset.batch_per_domain // clip_length)
    lead = (n,) if clip_length == 1 else (n, clip_length)
    batches = {}
    for domain in DOMAINS:
        label = (torch.arange(n) % 2).float()
        live = label.view(-1, *([1] * len(lead[1:])))
        image = torch.randn(n * clip_length, 3, size, size, generator=generator)
        image = image.contiguous(memory_format=fmt).view(*lead, 3, size, size)
        batches[domain] = Batch(
            image=image,
            label=label,
            depth=torch.rand(*lead, 1, size, size, generator=generator) * live.view(*live.shape, 1, 1, 1),
            parsing=torch.randint(len(PARSING_CLASSES), (*lead, size, size), generator=generator),
            reflection=torch.rand(*lead, 3, size, size, generator=generator) * (1 - live).view(*live.shape, 1, 1, 1),
            pulse=torch.randn(*lead, generator=generator) * live,
        ).to(device)
    return batches


def _timed_update_s(algorithm: Algorithm, batches: dict[str, Batch], device: torch.device, bf16: bool) -> float:
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    with autocast:
        algorithm.update(batches)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def median_update_ms(
    algorithm: Algorithm, batches: dict[str, Batch], steps: int, device: torch.device, bf16: bool = False
) -> float:
    """Median wall time of ``steps`` updates after ``WARM_UP`` untimed ones."""
    times = [_timed_update_s(algorithm, batches, device, bf16) for _ in range(WARM_UP + steps)]
    return 1000 * statistics.median(times[WARM_UP:])


def interleaved_median_update_ms(
    variants: dict[str, tuple[Algorithm, dict[str, Batch]]], steps: int, device: torch.device, bf16: bool = False
) -> dict[str, float]:
    """Median wall time of ``steps`` updates of each variant, taken in turns.

    One update of every variant per round, so a machine shared with other jobs
    slows all of them alike and their ratios stay meaningful.
    """
    times: dict[str, list[float]] = {label: [] for label in variants}
    for i in range(WARM_UP + steps):
        for label, (algorithm, batches) in variants.items():
            seconds = _timed_update_s(algorithm, batches, device, bf16)
            if i >= WARM_UP:
                times[label].append(seconds)
    return {label: 1000 * statistics.median(values) for label, values in times.items()}
