"""Throughput of the trainer's own training loop per method, one JSON object per line.

``dgfas.trainer.train`` runs a warm-up and then ``--steps`` timed steps with
a step timer, which synchronizes the device around each step's batch
assembly (``data_ms``) and its ``update`` (``update_ms``); the run is
stopped after the last timed step, before its evaluation. Scoring of the
target test split is then timed with the scoring function a run uses
(:func:`dgfas.evaluation.score_frames`, ``eval_images_per_s``). Figures
are medians over the timed steps; ``rss_anon_gib`` is the largest
anonymous resident memory (``RssAnon``) seen during the method's training
and scoring (sampled every 20 ms) and ``cache_gib`` the bytes on disk of
the frame cache the run read.

    python benchmarks/train_throughput.py --preset quick --methods erm,multitask_meta --device cpu
    python benchmarks/train_throughput.py --preset paper --methods erm --device cpu --fake-cache-gib 8 --json

``--fake-cache-gib G`` writes about G GiB of random frames in the real cache
format (``benchmarks/fake_cache.py``) and trains protocol OCI-M on them, so
memory and data time can be measured at a corpus size no synthetic preset
reaches.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import torch

from dgfas.algorithms import ALGORITHMS, get_algorithm
from dgfas.data.protocol_frames import preset_data_options
from dgfas.data.registry import DataOptions
from dgfas.devices import pick_device
from dgfas.evaluation import score_frames
from dgfas.paths import default_cache_dir
from dgfas.presets import get_preset
from dgfas.run import RunSpec, resolve
from dgfas.trainer import train

GIB = 2**30


def rss_anon_bytes() -> int:
    """The process's anonymous resident memory: what it holds beyond mapped files."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status has no RssAnon line")


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


class PeakRssAnon:
    """The largest RssAnon while the block runs, sampled by a thread every 20 ms.

    Reading it only between steps would miss the transient peak of a forward
    and backward pass, or of a scoring chunk, which is what decides whether a
    run fits in memory.
    """

    def __enter__(self) -> "PeakRssAnon":
        self.peak = rss_anon_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_anon_bytes())

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_anon_bytes())


class TimedStepsDone(Exception):
    """Raised by the step timer after the last timed step, so the run skips its evaluation."""


class StepTimer:
    """The ``step_timer`` of :func:`dgfas.trainer.train`: keeps the timed steps' durations."""

    def __init__(self, warm_up: int, steps: int) -> None:
        self.warm_up, self.last = warm_up, warm_up + steps
        self.data_s: list[float] = []
        self.update_s: list[float] = []

    def __call__(self, step: int, data_s: float, update_s: float) -> None:
        if step > self.warm_up:
            self.data_s.append(data_s)
            self.update_s.append(update_s)
        if step == self.last:
            raise TimedStepsDone


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(method: str, args: argparse.Namespace, data: DataOptions, data_source: str, cache: Path) -> dict:
    device = pick_device(args.device)
    spec = RunSpec(protocol=args.protocol, method=method, preset=args.preset, data_source=data_source,
                   trainer_overrides={"steps": args.warm_up + args.steps, "eval_every": args.warm_up + args.steps + 1,
                                      "device": args.device, "precision": args.precision})
    run = resolve(spec, data)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    timer = StepTimer(args.warm_up, args.steps)
    with PeakRssAnon() as memory:
        try:
            train(run, progress=False, step_timer=timer)
        except TimedStepsDone:
            pass

        cls = get_algorithm(method)
        algorithm = cls(run.algorithm_config, run.model_config, list(run.source_train)).to(device)
        algorithm = algorithm.to(memory_format=cls.memory_format)
        precision = run.trainer_config.precision
        score_frames(algorithm, run.target_test.select(slice(0, 64)), device, precision=precision)  # warm-up
        synchronize(device)
        started = time.perf_counter()
        score_frames(algorithm, run.target_test, device, precision=precision)
        synchronize(device)
        eval_seconds = time.perf_counter() - started

    data_ms = 1000 * statistics.median(timer.data_s)
    update_ms = 1000 * statistics.median(timer.update_s)
    step_ms = 1000 * statistics.median(d + u for d, u in zip(timer.data_s, timer.update_s))
    per_domain = (run.trainer_config.batch_per_domain if algorithm.clip_length == 1
                  else max(2, run.trainer_config.batch_per_domain // algorithm.clip_length) * algorithm.clip_length)
    return {
        "method": method,
        "device": device.type,
        "precision": precision,
        "preset": args.preset,
        "data_ms": round(data_ms, 3),
        "update_ms": round(update_ms, 3),
        "step_ms": round(step_ms, 3),
        "data_fraction": round(data_ms / step_ms, 4),
        "images_per_s": round(len(run.source_train) * per_domain / step_ms * 1000, 2),
        "eval_images_per_s": round(len(run.target_test) / eval_seconds, 2),
        "peak_device_gib": round(torch.cuda.max_memory_allocated(device) / GIB, 4) if device.type == "cuda" else 0.0,
        "rss_anon_gib": round(memory.peak / GIB, 4),
        "cache_gib": round(folder_bytes(cache) / GIB, 4),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick", choices=["tiny", "fast", "quick", "paper"])
    parser.add_argument("--methods", default=",".join(ALGORITHMS.names()), help="comma-separated (default: all)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"])
    parser.add_argument("--steps", type=int, default=20, help="timed steps, after --warm-up untimed ones")
    parser.add_argument("--warm-up", type=int, default=3)
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--protocol", default="OCI-M")
    parser.add_argument("--cache", type=Path, default=default_cache_dir(), help="synthetic frame cache (default .dgfas/cache)")
    parser.add_argument("--workers", type=int, default=2, help="processes for building a missing synthetic cache")
    parser.add_argument("--fake-cache-gib", type=float, default=None,
                        help="train on about this many GiB of random frames in the real cache format instead")
    parser.add_argument("--json", action="store_true", help="print only the JSON lines")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    preset = get_preset(args.preset)
    data = DataOptions(cache_dir=args.cache, workers=args.workers, progress=False)

    with tempfile.TemporaryDirectory(prefix="dgfas-fake-cache-") as fake_dir:
        if args.fake_cache_gib is not None:
            from fake_cache import write_fake_source  # benchmarks/fake_cache.py; only this flag needs it

            data = DataOptions(cache_dir=Path(fake_dir), progress=False)
            data_source, cache = write_fake_source(Path(fake_dir), args.fake_cache_gib, preset.image_size), Path(fake_dir)
        else:
            from dgfas.data.synthetic.generate import cache_folder

            data_source, cache = "synthetic", cache_folder(preset_data_options(preset, data))
        rows = []
        for method in filter(None, args.methods.split(",")):
            rows.append(measure(method, args, data, data_source, cache))
            print(json.dumps(rows[-1]), flush=True)
    if not args.json:
        print(f"\n{'method':16s} {'data ms':>9s} {'update ms':>10s} {'step ms':>9s} {'data %':>7s} {'img/s':>8s} "
              f"{'eval img/s':>11s} {'RssAnon GiB':>12s}")
        for row in rows:
            print(f"{row['method']:16s} {row['data_ms']:9.1f} {row['update_ms']:10.1f} {row['step_ms']:9.1f} "
                  f"{100 * row['data_fraction']:6.1f}% {row['images_per_s']:8.1f} {row['eval_images_per_s']:11.1f} "
                  f"{row['rss_anon_gib']:12.2f}")
        if rows:
            print(f"({rows[0]['device']}, {rows[0]['precision']}, preset {args.preset}, cache {rows[0]['cache_gib']:.2f} GiB, "
                  f"{args.steps} timed steps after {args.warm_up})")


if __name__ == "__main__":
    main()
