"""Milliseconds per training step: ERM against multitask_meta under each inner-step engine.

Every method gets the same backbone, input size and batches (one per source
domain, at the preset's size), each in the memory format the trainer gives
it (``Algorithm.memory_format``), and each figure is the median of several
timed ``update`` calls after warm-up ones. The variants take turns step by
step in one run, so on a shared machine the ratios still compare like with
like. The goal this checks (issue 14): an exact meta step at most 3.5× an
ERM step on the CPU at ``quick``.

    python benchmarks/meta_step.py [--preset quick] [--steps 10] [--device cpu|cuda] [--bf16]
"""

from __future__ import annotations

import argparse

import torch
from step_timing import DOMAINS, WARM_UP, build_algorithm, interleaved_median_update_ms, random_batches

from dgfas.algorithms import get_algorithm
from dgfas.presets import get_preset

#: (label, method, algorithm overrides) of every timed variant.
VARIANTS = (
    ("erm", "erm", {}),
    ("multitask, no meta", "multitask_meta", {"meta": False}),
    ("meta, torch_func", "multitask_meta", {"engine": "torch_func"}),
    ("meta, higher", "multitask_meta", {"engine": "higher"}),
    ("meta, learn2learn", "multitask_meta", {"engine": "learn2learn"}),
    ("meta, torch_func, 1st order", "multitask_meta", {"engine": "torch_func", "first_order": True}),
)


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
    variants = {}
    for label, method, overrides in VARIANTS:
        memory_format = get_algorithm(method).memory_format
        batches = random_batches(preset, device, memory_format)
        variants[label] = build_algorithm(method, overrides, preset, device, memory_format), batches
    ms = interleaved_median_update_ms(variants, args.steps, device, args.bf16)
    for label in variants:
        print(f"{label:30s} {ms[label]:8.1f} ms")
    default = ms["meta, torch_func"]
    print(f"higher / torch_func:            {ms['meta, higher'] / default:.2f}x")
    print(f"learn2learn / torch_func:       {ms['meta, learn2learn'] / default:.2f}x")
    print(f"meta (torch_func) / erm:        {default / ms['erm']:.2f}x  (goal <= 3.5)")
    print(f"meta (torch_func) / no-meta:    {default / ms['multitask, no meta']:.2f}x")


if __name__ == "__main__":
    main()
