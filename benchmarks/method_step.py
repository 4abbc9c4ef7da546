"""Milliseconds per training step of every registered method at a preset, and each one's ratio to ERM.

Each method runs on the backbone and width the preset gives it, with random
batches holding every ground-truth map (clips for clip methods), so the
figures say what a benchmark run of each method costs per step. Extra
``--variant method:key=value`` entries time overridden settings too, e.g.
``pyramid:model=cdcn``.

    python benchmarks/method_step.py [--preset quick] [--steps 10] [--variant pyramid:model=cdcn ...]
"""

from __future__ import annotations

import argparse

import torch
from step_timing import build_algorithm, median_update_ms, random_batches

from dgfas.algorithms import ALGORITHMS
from dgfas.presets import get_preset


def parse_variant(text: str) -> tuple[str, dict]:
    method, _, settings = text.partition(":")
    # values stay strings: the config's own type coercion (``with_overrides``) parses them
    return method, dict(setting.partition("=")[::2] for setting in filter(None, settings.split(",")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--variant", action="append", default=[], help="method:key=value[,key=value] to time besides the defaults")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    preset = get_preset(args.preset)
    fmt = torch.channels_last
    print(f"device {device}, preset {args.preset} ({preset.image_size}² input, {preset.batch_per_domain} images "
          f"x 3 domains), threads {torch.get_num_threads()}")
    timings = {}
    for method, overrides in [(name, {}) for name in ALGORITHMS.names()] + [parse_variant(v) for v in args.variant]:
        algorithm = build_algorithm(method, overrides, preset, device, fmt)
        batches = random_batches(preset, device, fmt, algorithm.clip_length)
        label = method + (f"[{', '.join(f'{k}={v}' for k, v in overrides.items())}]" if overrides else "")
        timings[label] = median_update_ms(algorithm, batches, args.steps, device)
    for label, ms in timings.items():
        print(f"{label:32s} {ms:9.1f} ms/step  {ms / timings['erm']:6.2f}x erm")


if __name__ == "__main__":
    main()
