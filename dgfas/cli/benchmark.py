"""``dgfas benchmark``: protocols x methods x seeds into MLflow, then the leaderboard."""

from __future__ import annotations

import argparse

from dgfas.cli.runs import add_grid_options, add_run_options, grid, job_specs, run_data_options


def cmd_benchmark(args: argparse.Namespace) -> int:
    from dgfas.benchmark import run_benchmark

    protocols, methods, seeds = grid(args)
    run_benchmark(
        job_specs(args, protocols, methods, seeds),
        data=run_data_options(args),
        runs_dir=args.runs_dir,
        leaderboard_dir=args.leaderboard_dir,
    )
    return 0


def benchmark_options(parser: argparse.ArgumentParser) -> None:
    add_grid_options(parser)
    add_run_options(parser)
