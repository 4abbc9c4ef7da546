"""Milliseconds per training step: ERM against multitask_meta under each inner-step engine.

Every method gets the same backbone, input size and batches (one per source
domain, at the preset's size), and each figure is the median of several timed
``update`` calls after warm-up ones, all in one run so the ratios compare like
with like. The goals this checks: the default engine (torch_func) at least 2×
faster than higher, and a meta step at most 2.5× an ERM step.

    python benchmarks/meta_step.py [--preset quick] [--steps 10] [--device cpu|cuda] [--bf16]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import statistics
import time

import torch

from dgfas.algorithms import Batch, get_algorithm
from dgfas.config import with_overrides
from dgfas.data.frames import PARSING_CLASSES
from dgfas.models import get_model
from dgfas.presets import get_preset

DOMAINS = ["a", "b", "c"]
WARM_UP = 3

#: (label, method, algorithm overrides) of every timed variant.
VARIANTS = (
    ("erm", "erm", {}),
    ("multitask, no meta", "multitask_meta", {"meta": False}),
    ("meta, torch_func", "multitask_meta", {"engine": "torch_func"}),
    ("meta, higher", "multitask_meta", {"engine": "higher"}),
    ("meta, learn2learn", "multitask_meta", {"engine": "learn2learn"}),
    ("meta, torch_func, 1st order", "multitask_meta", {"engine": "torch_func", "first_order": True}),
)


def make_batches(size: int, n: int, device: torch.device, generator: torch.Generator) -> dict[str, Batch]:
    batches = {}
    for domain in DOMAINS:
        label = (torch.arange(n) % 2).float()
        batches[domain] = Batch(
            image=torch.randn(n, 3, size, size, generator=generator).contiguous(memory_format=torch.channels_last),
            label=label,
            depth=torch.rand(n, 1, size, size, generator=generator) * label.view(-1, 1, 1, 1),
            parsing=torch.randint(len(PARSING_CLASSES), (n, size, size), generator=generator),
        ).to(device)
    return batches


def step_ms(method: str, overrides: dict, preset_name: str, steps: int, device: torch.device, bf16: bool) -> float:
    preset = get_preset(preset_name)
    cls = get_algorithm(method)
    config = with_overrides(cls.Config(), overrides)
    entry = get_model(config.model)
    fields = {f.name for f in dataclasses.fields(entry.config)}
    model_config = with_overrides(entry.config(), {k: v for k, v in preset.model_overrides if k in fields})
    torch.manual_seed(0)
    algorithm = cls(config, model_config, DOMAINS).to(device).to(memory_format=torch.channels_last)
    batches = make_batches(preset.image_size, preset.batch_per_domain, device, torch.Generator().manual_seed(0))
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    times = []
    for i in range(WARM_UP + steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with autocast:
            algorithm.update(batches)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= WARM_UP:
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--bf16", action="store_true", help="run updates under bf16 autocast")
    args = parser.parse_args()
    device = torch.device(args.device)
    preset = get_preset(args.preset)
    print(
        f"device {device}, preset {args.preset} ({preset.image_size}² input, {preset.batch_per_domain} images × "
        f"{len(DOMAINS)} domains), threads {torch.get_num_threads()}, bf16 autocast {args.bf16}, "
        f"median of {args.steps} steps after {WARM_UP} warm-up"
    )
    ms = {}
    for label, method, overrides in VARIANTS:
        ms[label] = step_ms(method, overrides, args.preset, args.steps, device, args.bf16)
        print(f"{label:30s} {ms[label]:8.1f} ms")
    default = ms["meta, torch_func"]
    print(f"higher / torch_func:            {ms['meta, higher'] / default:.2f}x  (goal >= 2)")
    print(f"learn2learn / torch_func:       {ms['meta, learn2learn'] / default:.2f}x")
    print(f"meta (torch_func) / erm:        {default / ms['erm']:.2f}x  (goal <= 2.5)")
    print(f"meta (torch_func) / no-meta:    {default / ms['multitask, no meta']:.2f}x")


if __name__ == "__main__":
    main()
