"""Milliseconds per ERM training step at a preset, channels-last vs contiguous.

Prints both medians and their ratio, measured in one run so the ratio is
comparable across machines. Channels-last is what the trainer uses; this
script shows what it buys on the machine at hand.

    python benchmarks/train_step.py [--preset quick] [--steps 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch

from dgfas.algorithms import Batch, get_algorithm
from dgfas.config import with_overrides
from dgfas.models import get_model
from dgfas.presets import get_preset


def step_ms(preset_name: str, steps: int, channels_last: bool, device: torch.device) -> float:
    preset = get_preset(preset_name)
    cls = get_algorithm("erm")
    config = cls.Config()
    entry = get_model(config.model)
    fields = {f.name for f in dataclasses.fields(entry.config)}
    model_config = with_overrides(entry.config(), {k: v for k, v in preset.model_overrides if k in fields})
    domains = ["a", "b", "c"]
    algorithm = cls(config, model_config, domains).to(device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    algorithm = algorithm.to(memory_format=fmt)
    size, n = preset.image_size, preset.batch_per_domain
    batches = {
        d: Batch(
            image=torch.randn(n, 3, size, size, device=device).contiguous(memory_format=fmt),
            label=(torch.arange(n, device=device) % 2).float(),
        )
        for d in domains
    }
    times = []
    for i in range(steps + 3):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        algorithm.update(batches)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 3:  # warm-up steps are not timed
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    contiguous = step_ms(args.preset, args.steps, False, device)
    channels_last = step_ms(args.preset, args.steps, True, device)
    print(f"device {device}, preset {args.preset}, threads {torch.get_num_threads()}")
    print(f"erm step, contiguous:    {contiguous:8.1f} ms")
    print(f"erm step, channels-last: {channels_last:8.1f} ms")
    print(f"speed-up of channels-last: {contiguous / channels_last:.2f}x")


if __name__ == "__main__":
    main()
