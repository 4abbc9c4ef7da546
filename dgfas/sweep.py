"""Sweeps: protocols × methods × seeds × random hyper-parameter draws, run by a launcher.

A job's identity is its run key (the hash of its resolved arguments and its
data), so a sweep that is run again skips finished jobs and re-runs failed or
interrupted ones, resuming from their checkpoints.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from dgfas.algorithms import get_algorithm
from dgfas.benchmark import JobOutcome, command_runs, outcome_summary, write_leaderboards
from dgfas.data.registry import DataOptions
from dgfas.errors import DgfasError
from dgfas.hparams import draw_hparams
from dgfas.launchers import Failed, JobResult, LauncherOptions, NotRun, get_launcher
from dgfas.protocols import get_protocol
from dgfas.run import RunSpec


def with_draws(specs: list[RunSpec], draws: int) -> list[RunSpec]:
    """Each spec once per draw 0, 1, ..., ``draws``, its algorithm overrides drawn from the method's search space.

    Draw 0 is the method's defaults. Overrides a spec already has (``--set``)
    fix those parameters in every draw. A draw equal to an earlier one of the
    same spec (a method with no search space, or every parameter fixed) is
    left out rather than run twice.
    """
    if draws < 0:
        raise DgfasError(f"--draws must be 0 or more, got {draws}")
    jobs = []
    for spec in specs:
        space = get_algorithm(spec.method).search_space
        seen = set()
        for draw in range(draws + 1):
            overrides = {**draw_hparams(space, seed=spec.seed, draw=draw), **spec.algorithm_overrides}
            key = repr(sorted(overrides.items()))
            if key not in seen:
                seen.add(key)
                jobs.append(dataclasses.replace(spec, algorithm_overrides=overrides, hparam_draw=draw))
    return jobs


def with_holdouts(specs: list[RunSpec]) -> list[RunSpec]:
    """Each spec, then once per source domain of its protocol trained without that domain and validated on it.

    These are the runs leave-one-source-domain-out selection scores a draw by
    (``dgfas leaderboard --draw-rule loso``). A protocol with one source has
    nothing to hold out: its specs get none.
    """
    jobs = []
    for spec in specs:
        jobs.append(spec)
        sources = get_protocol(spec.protocol).sources
        if len(sources) > 1:
            jobs.extend(dataclasses.replace(spec, holdout_source=source) for source in sources)
    return jobs


def describe(spec: RunSpec, result: JobResult) -> tuple[str, str]:
    """A job's progress line in two parts: which job (``erm[lr=0.002] on C-I seed 0 draw 1``) and how it ended."""
    name = result.variant if isinstance(result, JobOutcome) else spec.method
    job = f"{name} on {spec.protocol} seed {spec.seed} draw {spec.hparam_draw}"
    if spec.holdout_source is not None:
        job += f" without {spec.holdout_source}"
    if isinstance(result, NotRun):
        return job, f"not run: {result.reason}"
    if isinstance(result, Failed):
        return job, f"failed: {result.reason}"
    return job, outcome_summary(result)


def run_sweep(
    specs: list[RunSpec],
    *,
    data: DataOptions,
    runs_dir: Path,
    leaderboard_dir: Path,
    launcher: str,
    options: LauncherOptions,
    draw_rule: str | None = None,
) -> list[JobResult]:
    """Run ``specs`` with the named launcher, report each as it ends, then write the leaderboards.

    Returns:
        Each spec's result, in the order of ``specs``.
    """
    from dgfas.tracking.store import open_store

    launch = get_launcher(launcher)
    if not specs:
        raise DgfasError("the sweep has no jobs: give at least one protocol, method and seed")
    suites = sorted({spec.suite for spec in specs})
    open_store(suites)  # before any job builds data or races to create the store
    started = time.perf_counter()
    results: dict[int, JobResult] = {}
    with command_runs("sweep", suites) as parents:
        ids = {suite: parents.parent_id(suite) for suite in suites}
        for index, result in launch(specs, data=data, runs_dir=runs_dir, options=options, parents=ids):
            results[index] = result
            job, summary = describe(specs[index], result)
            parents.record(specs[index].suite, job, summary)
            print(f"[{index + 1}/{len(specs)}] {job}: {summary}", file=sys.stderr)
    write_leaderboards([r for r in results.values() if isinstance(r, JobOutcome)], leaderboard_dir, draw_rule)
    failed = sum(isinstance(r, Failed) for r in results.values())
    retry = f"; {failed} failed, run the same command again to retry them" if failed else ""
    print(f"sweep done in {time.perf_counter() - started:.0f}s{retry}", file=sys.stderr)
    return [results[index] for index in range(len(specs))]
