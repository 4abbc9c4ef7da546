"""Milliseconds per ERM training step at a preset, channels-last vs contiguous.

Prints both medians and their ratio, measured in one run so the ratio is
comparable across machines. Channels-last is what the trainer uses; this
script shows what it buys on the machine at hand.

    python benchmarks/train_step.py [--preset quick] [--steps 10]
"""

from __future__ import annotations

import argparse

import torch
from step_timing import build_algorithm, median_update_ms, random_batches

from dgfas.presets import get_preset


def step_ms(preset_name: str, steps: int, channels_last: bool, device: torch.device) -> float:
    preset = get_preset(preset_name)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    algorithm = build_algorithm("erm", {}, preset, device, fmt)
    return median_update_ms(algorithm, random_batches(preset, device, fmt), steps, device)


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
