"""Launchers: where the jobs of a sweep run (this process, a process pool, submitit).

A launcher is ``launch(specs, *, data, runs_dir, options, parents)``, an iterator of
``(position in specs, result)`` in the order the jobs end; ``parents`` maps a suite
to the MLflow run of the sweep command, which each job's run is a child of (passed
to the job's process as an argument, like the spec). Every job is
:func:`run_one`, so all launchers skip, resume and log a job alike. A result
is the job's :class:`~dgfas.benchmark.JobOutcome`, :class:`NotRun` when the
method cannot run on the protocol as configured, or :class:`Failed` when the
job raised: one job's failure never stops the others, and the next sweep
retries it, since only FINISHED runs count as done.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Union

from dgfas.errors import DgfasError, UnsupportedSetting
from dgfas.registry import Registry

if TYPE_CHECKING:
    import submitit

    from dgfas.benchmark import JobOutcome
    from dgfas.data.registry import DataOptions
    from dgfas.run import RunSpec


@dataclass(frozen=True)
class NotRun:
    """The job's method cannot run on its protocol as configured (:class:`UnsupportedSetting`)."""

    reason: str


@dataclass(frozen=True)
class Failed:
    """The job raised; ``reason`` is one line naming the exception (and, for submitit, the log)."""

    reason: str


# The benchmark (and torch with it) is imported when a job runs, not with this module: naming the
# launchers (``dgfas list``, ``--help``) stays cheap. Hence the forward reference.
JobResult = Union["JobOutcome", NotRun, Failed]


@dataclass(frozen=True)
class LauncherOptions:
    """The CLI's launcher flags; each launcher reads the ones it needs.

    Attributes:
        jobs: jobs at a time: worker processes of ``local``, array parallelism on Slurm.
        cluster: submitit's cluster: ``local`` (subprocesses on this machine) or ``slurm``.
        slurm_partition: Slurm partition; empty for the cluster's default.
        timeout_min: wall-clock limit of one submitit job, in minutes.
    """

    jobs: int = 1
    cluster: str = "local"
    slurm_partition: str = ""
    timeout_min: int = 60

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise DgfasError(f"--jobs must be 1 or more, got {self.jobs}")
        if self.timeout_min < 1:
            raise DgfasError(f"--timeout-min must be 1 or more, got {self.timeout_min}")


Launcher = Callable[..., Iterator[tuple[int, JobResult]]]

LAUNCHERS: Registry[Launcher] = Registry("launcher")
register_launcher = LAUNCHERS.register
get_launcher = LAUNCHERS.get


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity (a Slurm allocation, a taskset), else all."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def run_one(
    spec: RunSpec, data: DataOptions, runs_dir: Path, share: int, parent_run_id: str | None = None
) -> JobOutcome | NotRun:
    """One job, in whichever process a launcher put it.

    Args:
        spec: The job.
        data: Where its data lives.
        runs_dir: Where its score files and checkpoint go.
        share: How many jobs run on this machine's cores at once; torch gets
            an equal part of them, so parallel jobs do not oversubscribe.
        parent_run_id: The MLflow run of the sweep command; the job's run is its child.

    An :class:`UnsupportedSetting` comes back as a :class:`NotRun` value, so
    it reaches the sweep intact from any process or submitit job; any other
    exception propagates, and the launcher reports it as :class:`Failed`.
    """
    import torch

    from dgfas.benchmark import run_job

    torch.set_num_threads(max(1, usable_cores() // share))
    try:
        return run_job(spec, data=data, runs_dir=runs_dir, parent_run_id=parent_run_id)
    except UnsupportedSetting as error:
        return NotRun(str(error))


def _parent(parents: Mapping[str, str] | None, spec: RunSpec) -> str | None:
    """The run id of ``spec``'s suite's parent run, if the launch has parents."""
    return None if parents is None else parents.get(spec.suite)


def _failed(error: BaseException) -> Failed:
    message = str(error).strip().splitlines()
    return Failed(f"{type(error).__name__}: {message[0]}" if message else type(error).__name__)


@register_launcher("sequential")
def launch_sequential(
    specs: list[RunSpec], *, data: DataOptions, runs_dir: Path, options: LauncherOptions,
    parents: Mapping[str, str] | None = None,
) -> Iterator[tuple[int, JobResult]]:
    """Every job in this process, in order: the one to debug with (breakpoints, monkeypatches)."""
    for index, spec in enumerate(specs):
        try:
            result: JobResult = run_one(spec, data, runs_dir, 1, _parent(parents, spec))
        except Exception as error:  # any job error: reported as Failed, the next job runs
            result = _failed(error)
        yield index, result


@register_launcher("local")
def launch_local(
    specs: list[RunSpec], *, data: DataOptions, runs_dir: Path, options: LauncherOptions,
    parents: Mapping[str, str] | None = None,
) -> Iterator[tuple[int, JobResult]]:
    """``options.jobs`` worker processes on this machine, each running one job at a time.

    Workers are spawned, not forked: a fork of a process whose torch thread
    pool or MLflow database connection is live can deadlock. On exit (also on
    Ctrl-C) jobs not yet started are cancelled.
    """
    share = max(1, min(options.jobs, len(specs)))
    pool = ProcessPoolExecutor(share, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {pool.submit(run_one, spec, data, runs_dir, share, _parent(parents, spec)): index
                   for index, spec in enumerate(specs)}
        for future in as_completed(futures):
            error = future.exception()
            yield futures[future], future.result() if error is None else _failed(error)
    finally:
        pool.shutdown(cancel_futures=True)


def _submitit_failure(job: submitit.Job, error: Exception) -> Failed:
    from submitit.core.utils import FailedJobError

    if isinstance(error, FailedJobError):
        # submitit puts the job's traceback between two dashed lines; its last line names the exception.
        trace = str(error).split("----------------------")[1]
        lines = [line.strip() for line in trace.splitlines() if line.strip()]
        return Failed(f"{lines[-1]} (log: {job.paths.stderr})")
    return Failed(f"submitit job {job.job_id} ended without a result (state {job.state}; log: {job.paths.stderr})")


@register_launcher("submitit")
def launch_submitit(
    specs: list[RunSpec], *, data: DataOptions, runs_dir: Path, options: LauncherOptions,
    parents: Mapping[str, str] | None = None,
) -> Iterator[tuple[int, JobResult]]:
    """Each job a submitit job: a Slurm array task (``cluster="slurm"``) or a subprocess (``"local"``).

    Logs and pickles go to ``<runs_dir>/submitit/<job id>``. Slurm runs
    ``options.jobs`` array tasks at a time; submitit's local cluster starts
    every job at once, so there each gets an equal part of the cores.
    """
    import submitit

    executor = submitit.AutoExecutor(folder=runs_dir / "submitit" / "%j", cluster=options.cluster)
    executor.update_parameters(
        name="dgfas-sweep",
        timeout_min=options.timeout_min,
        slurm_partition=options.slurm_partition or None,
        slurm_array_parallelism=options.jobs,
    )
    share = len(specs) if options.cluster == "local" else 1
    n = len(specs)
    jobs = executor.map_array(run_one, specs, [data] * n, [runs_dir] * n, [share] * n,
                              [_parent(parents, spec) for spec in specs])
    for job in submitit.helpers.as_completed(jobs, poll_frequency=1):
        error = job.exception()
        yield jobs.index(job), job.result() if error is None else _submitit_failure(job, error)
