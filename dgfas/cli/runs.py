"""What the commands that run methods on protocols share: their jobs, hyper-parameter overrides and data options.

``benchmark``, ``sweep`` and ``train`` build their jobs here; ``submit``
scores frames from the same caches, so it takes the same data options. Every
name given is checked before the first job builds data or logs a run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dgfas.cli.options import add_leaderboard_dir, add_preset, add_progress, add_verbose, integer, progress
from dgfas.errors import DgfasError


def _csv_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _seeds(text: str) -> list[int]:
    """``--seeds 0,1,2`` as integers; anything else is one line naming the bad item."""
    seeds = []
    for item in _csv_list(text):
        if not item.isdecimal():
            raise DgfasError(f"--seeds: '{item}' is not an integer 0 or more (give comma-separated seeds, e.g. 0,1,2)")
        seeds.append(int(item))
    if not seeds:
        raise DgfasError("--seeds: no seed given (give comma-separated integers, e.g. 0,1,2)")
    return seeds


def _split_overrides(items: list[str]) -> dict[str, dict[str, str]]:
    """``algorithm.lr=1e-4`` -> {"algorithm": {"lr": "1e-4"}}; the group must be named."""
    from dgfas.config import parse_assignments

    groups: dict[str, dict[str, str]] = {"algorithm": {}, "model": {}, "trainer": {}}
    for key, value in parse_assignments(items).items():
        group, dot, name = key.partition(".")
        if not dot or group not in groups:
            raise DgfasError(f"override {key!r} must start with one of {sorted(groups)} (e.g. algorithm.lr=1e-4)")
        groups[group][name] = value
    return groups


def job_specs(args: argparse.Namespace, protocols: list[str], methods: list[str], seeds: list[int]) -> list:
    """The jobs, each one's settings resolved and checked before the first builds data or logs a run."""
    from dgfas.run import RunSpec, resolve_settings

    overrides = _split_overrides(args.set)
    specs = [
        RunSpec(
            protocol=protocol,
            method=method,
            seed=seed,
            preset=args.preset,
            data_source=args.data,
            algorithm_overrides=overrides["algorithm"],
            model_overrides=overrides["model"],
            trainer_overrides=overrides["trainer"],
        )
        for protocol in protocols
        for method in methods
        for seed in seeds
    ]
    for spec in specs:
        resolve_settings(spec)
    return specs


def validate_names(protocols: list[str], methods: list[str], preset: str, data: str) -> None:
    """Fail on a bad name before any data is generated or any run starts."""
    from dgfas.algorithms import get_algorithm
    from dgfas.data.sources import DATA_SOURCES
    from dgfas.presets import get_preset
    from dgfas.protocols import check_distinct, get_protocol

    get_preset(preset)
    DATA_SOURCES.get(data)
    for method in methods:
        get_algorithm(method)
    check_distinct([get_protocol(protocol) for protocol in protocols])


def _roots(items: list[str]) -> tuple[tuple[str, str], ...]:
    """``--root oulu=/data/OULU-NPU`` options as (corpus, folder) pairs."""
    from dgfas.data.corpora import CORPORA

    pairs = []
    for item in items:
        corpus, sep, folder = item.partition("=")
        if not sep or not corpus or not folder:
            raise DgfasError(f"--root {item!r}: expected CORPUS=FOLDER, e.g. oulu=/data/OULU-NPU")
        CORPORA.get(corpus)
        pairs.append((corpus, folder))
    return tuple(pairs)


def run_data_options(args: argparse.Namespace):
    """Where a run's data lives and how a missing cache is built; the preset fills in size and scale."""
    from dgfas.data.registry import DataOptions

    return DataOptions(cache_dir=args.cache, workers=args.workers, progress=progress(args),
                       roots=_roots(args.root), frames_per_video=args.frames_per_video)


def grid(args: argparse.Namespace) -> tuple[list[str], list[str], list[int]]:
    """Protocols, methods and seeds of ``benchmark`` and ``sweep``; by default leave-one-out, every method, seed 0."""
    from dgfas.algorithms import ALGORITHMS
    from dgfas.protocols import expand_folds, protocol_names

    # a fold protocol named without its fold runs every fold (OULU-P3 -> OULU-P3@1, ..., OULU-P3@6)
    protocols = [name for given in _csv_list(args.protocols) for name in expand_folds(given)] if args.protocols \
        else list(protocol_names("leave-one-out"))
    methods = _csv_list(args.methods) if args.methods else ALGORITHMS.names()
    seeds = _seeds(args.seeds)
    validate_names(protocols, methods, args.preset, args.data)
    return protocols, methods, seeds


def add_grid_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocols", default="", help="comma-separated protocol names (default: the four leave-one-out)")
    parser.add_argument("--methods", default="", help="comma-separated methods (default: every registered one)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    add_leaderboard_dir(parser)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    from dgfas.paths import default_runs_dir

    add_preset(parser, "tiny, fast, quick or paper")
    parser.add_argument("--data", default="synthetic", help="data source binding domain letters to datasets")
    parser.add_argument("--set", action="append", default=[], metavar="GROUP.KEY=VALUE",
                        help="override a hyper-parameter, e.g. algorithm.lr=1e-4, model.width=1.0, trainer.steps=50")
    parser.add_argument("--runs-dir", type=Path, default=default_runs_dir(), help="score files (default .dgfas/runs)")
    add_data_options(parser)


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """Where data lives and how a missing cache is built: every command that loads a protocol's frames."""
    from dgfas.paths import default_cache_dir

    parser.add_argument("--cache", type=Path, default=default_cache_dir(), help="frame cache (default .dgfas/cache)")
    parser.add_argument("--workers", type=integer(1), default=2, help="processes for building data caches")
    add_progress(parser)
    add_verbose(parser)
    parser.add_argument("--root", action="append", default=[], metavar="CORPUS=FOLDER",
                        help="where a real corpus lies, for --data real, e.g. --root oulu=/data/OULU-NPU")
    parser.add_argument("--frames-per-video", type=integer(0), default=10,
                        help="frames a real corpus is prepared with, when its cache is missing (default 10)")
