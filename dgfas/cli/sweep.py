"""``dgfas sweep``: the benchmark's grid x random hyper-parameter draws, run by a launcher."""

from __future__ import annotations

import argparse

from dgfas.cli.benchmark import benchmark_options
from dgfas.cli.options import integer
from dgfas.cli.runs import grid, job_specs, run_data_options


def cmd_sweep(args: argparse.Namespace) -> int:
    from dgfas.launchers import Failed, LauncherOptions
    from dgfas.sweep import run_sweep, with_draws, with_holdouts

    options = LauncherOptions(jobs=args.jobs, cluster=args.cluster, slurm_partition=args.slurm_partition,
                              timeout_min=args.timeout_min)
    protocols, methods, seeds = grid(args)
    specs = with_draws(job_specs(args, protocols, methods, seeds), args.draws)
    results = run_sweep(
        with_holdouts(specs) if args.loso else specs,
        data=run_data_options(args),
        runs_dir=args.runs_dir,
        leaderboard_dir=args.leaderboard_dir,
        launcher=args.launcher,
        options=options,
        draw_rule="loso" if args.loso else None,
    )
    return 1 if any(isinstance(result, Failed) for result in results) else 0


def sweep_options(parser: argparse.ArgumentParser) -> None:
    from dgfas.launchers import LAUNCHERS

    benchmark_options(parser)
    parser.add_argument("--draws", type=integer(0), default=0,
                        help="random draws from each method's search space, besides its defaults (draw 0; default: 0)")
    parser.add_argument("--loso", action="store_true",
                        help="also train each job once per source domain without it, and choose draws by the mean EER "
                             "on the held-out source (leave-one-source-domain-out)")
    parser.add_argument("--launcher", default="sequential",
                        help=f"where jobs run: {', '.join(LAUNCHERS.names())} (default: sequential)")
    parser.add_argument("--jobs", type=integer(1), default=1, help="jobs at a time: local's processes, Slurm's array parallelism")
    parser.add_argument("--cluster", choices=("local", "slurm"), default="local",
                        help="submitit's cluster: subprocesses here, or Slurm (default: local)")
    parser.add_argument("--slurm-partition", default="", help="Slurm partition (default: the cluster's)")
    parser.add_argument("--timeout-min", type=integer(1), default=60, help="time limit of one submitit job in minutes (default 60)")
