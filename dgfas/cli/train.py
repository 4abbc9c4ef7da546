"""``dgfas train``: one run, a method on a protocol, its metrics printed as JSON (also under torchrun)."""

from __future__ import annotations

import argparse
import json

from dgfas.cli.options import integer
from dgfas.cli.runs import add_run_options, job_specs, run_data_options, validate_names


def cmd_train(args: argparse.Namespace) -> int:
    from dgfas import distributed
    from dgfas.benchmark import run_job
    from dgfas.tracking.store import open_store

    validate_names([args.protocol], [args.method], args.preset, args.data)
    (spec,) = job_specs(args, [args.protocol], [args.method], [args.seed])
    launch = distributed.from_environment()
    if launch is None or launch.is_main:  # the process that logs the run
        open_store([spec.suite])
    outcome = run_job(spec, data=run_data_options(args), runs_dir=args.runs_dir)
    if launch is None or launch.is_main:  # under torchrun, process 0 answers for the run
        print(json.dumps({"run_key": outcome.run_key, "status": outcome.status, **outcome.metrics}, indent=1))
    return 0


def train_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocol", required=True, help="protocol name or .toml path")
    parser.add_argument("--method", required=True)
    parser.add_argument("--seed", type=integer(0), default=0)
    add_run_options(parser)
