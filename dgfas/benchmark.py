"""Run jobs (protocol × method × seed) into MLflow, skipping finished ones.

A job's identity is the hash of its resolved arguments, the data it used and
the source code that trains and scores it (``dgfas.run_key``, see
:mod:`dgfas.code_identity`), so running the benchmark again only runs what is
missing, failed or changed: edit one method's module and only that method's
jobs train anew. An interrupted benchmark resumes at the job it stopped in.
"""

from __future__ import annotations

import dataclasses
import socket
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from dgfas import checkpoints, claims, distributed
from dgfas.atomic import atomic_write
from dgfas.data.registry import DataOptions
from dgfas.devices import device_name, pick_device
from dgfas.errors import DgfasError, UnsupportedSetting
from dgfas.evaluation import write_score_files
from dgfas.metric_names import EVALUATED_ROLES, TARGET_AUC, TARGET_HTER, table_name
from dgfas.run import ResolvedRun, RunSpec, git_commit, resolve
from dgfas.trainer import train

if TYPE_CHECKING:
    from dgfas.tracking.record import Machine, RunRecord
    from dgfas.tracking.tracked_run import TrackedRun


@dataclass
class JobOutcome:
    spec: RunSpec
    variant: str
    run_key: str
    status: str  # "finished", "skipped" (an identical run finished before) or "elsewhere" (another process holds it)
    selection_rule: str
    metrics: dict[str, float]
    seconds: float
    holder: str = ""  # who trains an "elsewhere" job (:func:`dgfas.claims.holder`)


def machine(device: torch.device | None = None) -> Machine:
    """This host and torch's version; with ``device``, the device a job computes on, its processor and torch's
    CPU threads (:class:`dgfas.tracking.record.Machine` says why a run records them)."""
    from dgfas.tracking.record import Machine

    if device is None:
        return Machine(socket.gethostname(), torch.__version__)
    return Machine(socket.gethostname(), torch.__version__, str(device), device_name(device), torch.get_num_threads())


class CommandRuns:
    """The parent MLflow runs of one ``dgfas benchmark`` or ``sweep`` command, one per suite it runs jobs in.

    Each job's run is a child of its suite's parent (``parent_id``), so the UI
    lists one row per command with its jobs under it; a command run again (to
    resume or retry) gets parents of its own. When the command ends, each
    parent logs ``jobs.json``: one row per job with the line the command
    printed for it (:meth:`record`).
    """

    def __init__(self, parents: Mapping[str, TrackedRun]) -> None:
        self._parents = parents
        self._lines: dict[str, list[tuple[str, str]]] = {suite: [] for suite in parents}

    def parent_id(self, suite: str) -> str:
        return self._parents[suite].run_id

    def record(self, suite: str, job: str, result: str) -> None:
        """Note the progress line of a job of ``suite`` (``job``: which job, ``result``: how it ended)."""
        self._lines[suite].append((job, result))

    def log_jobs(self) -> None:
        import pandas as pd

        for suite, lines in self._lines.items():
            self._parents[suite].log_table(pd.DataFrame(lines, columns=["job", "result"]), "jobs.json")


@contextmanager
def command_runs(command: str, suites: list[str]) -> Iterator[CommandRuns]:
    """Open a parent run per suite for the ``with`` block; they end FINISHED, FAILED or KILLED with it.

    A parent killed with ``kill -9`` stays RUNNING: unlike a job's run, no claim
    tells a later command that its process is gone.
    """
    from dgfas.tracking.record import source_tags
    from dgfas.tracking.run_contract import INVOCATION_TAG
    from dgfas.tracking.tracked_run import TrackedRun

    name = f"{command} {time.strftime('%Y-%m-%d %H:%M:%S')}"
    tags = {INVOCATION_TAG: command, **source_tags(git_commit(), machine())}
    with ExitStack() as stack:
        parents = {suite: stack.enter_context(TrackedRun.start(suite, name, {}, tags)) for suite in suites}
        runs = CommandRuns(parents)
        try:
            yield runs
        finally:  # an interrupted command's parents say which jobs ended before it
            runs.log_jobs()


def _record(run: ResolvedRun) -> RunRecord:
    """What a job's MLflow run records of it: its params (its identity), key, data and where it ran."""
    from dgfas.tracking.record import RunRecord

    spec = run.spec
    return RunRecord(
        suite=spec.suite, method=spec.method, protocol=spec.protocol, seed=str(spec.seed), preset=spec.preset,
        data_source=spec.data_source, selection_rule=run.trainer_config.selection_rule,
        data_fingerprint=run.data_fingerprint, run_key=run.run_key, protocol_file=str(run.protocol.path),
        params=run.params(), git_commit=git_commit(), machine=machine(pick_device(run.trainer_config.device)),
        world_size=run.world_size, hparam_draw=spec.hparam_draw, holdout_source=spec.holdout_source,
    )


def run_job(spec: RunSpec, *, data: DataOptions, runs_dir: Path, parent_run_id: str | None = None) -> JobOutcome:
    """Resolve, train, score and log one job, unless an identical one finished before or another process holds it.

    The job is trained under its claim (:mod:`dgfas.claims`), so processes that
    share the store and ``runs_dir`` train it once; whoever gets the claim ends
    the RUNNING MLflow runs a killed holder left and resumes from its checkpoint.
    Its MLflow run is a child of ``parent_run_id``, the run of the command that
    runs it (:func:`command_runs`), when there is one.
    """
    launch = distributed.from_environment()
    if launch is not None:
        try:
            return _run_job_distributed(spec, data=data, runs_dir=runs_dir, launch=launch, parent_run_id=parent_run_id)
        finally:
            distributed.finish()
    run = resolve(spec, data)
    with _claimed(run, runs_dir) as elsewhere:
        if elsewhere is not None:
            return elsewhere
        return _train_and_log(run, data=data, runs_dir=runs_dir, parent_run_id=parent_run_id)


@contextmanager
def _claimed(run: ResolvedRun, runs_dir: Path) -> Iterator[JobOutcome | None]:
    """Hold ``run``'s claim and yield None, or yield the outcome that says why it is not this process's to train.

    Whether the job finished is asked again once the claim is held: another
    process may have finished it between the first look and the claim.
    """
    from dgfas.tracking.stored_runs import end_orphaned_runs, find_finished_run

    spec = run.spec

    def outcome(status: str) -> JobOutcome:
        return JobOutcome(spec, run.variant, run.run_key, status, run.trainer_config.selection_rule, {}, 0.0,
                          claims.holder(job_dir) if status == "elsewhere" else "")

    job_dir = runs_dir / spec.suite / run.run_key
    if find_finished_run(spec.suite, run.run_key) is not None:
        yield outcome("skipped")
        return
    with claims.claim(job_dir) as held:
        if not held:
            yield outcome("elsewhere")
        elif find_finished_run(spec.suite, run.run_key) is not None:
            yield outcome("skipped")
        else:
            end_orphaned_runs(spec.suite, run.run_key)
            yield None


def _run_job_distributed(
    spec: RunSpec, *, data: DataOptions, runs_dir: Path, launch: distributed.Distributed, parent_run_id: str | None
) -> JobOutcome:
    """One job as one of several ``torchrun`` processes: process 0 logs, the others only train."""
    import torch.distributed as dist

    distributed.start(launch)
    if not launch.is_main:
        dist.barrier()  # process 0 builds any missing data cache first
    run = resolve(spec, data)
    if launch.is_main:
        dist.barrier()
        with _claimed(run, runs_dir) as not_ours:
            if distributed.broadcast_flag(not_ours is not None):
                return not_ours
            return _train_and_log(run, data=data, runs_dir=runs_dir, launch=launch, parent_run_id=parent_run_id)
    if distributed.broadcast_flag(False):  # process 0 found it finished or held elsewhere
        return JobOutcome(spec, run.variant, run.run_key, "skipped", run.trainer_config.selection_rule, {}, 0.0)
    checkpoint = runs_dir / spec.suite / run.run_key / "checkpoint.pt"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    result = train(run, progress=False, checkpoint=checkpoint, launch=launch)
    return JobOutcome(spec, run.variant, run.run_key, "finished", run.trainer_config.selection_rule, {}, result.seconds)


def _train_and_log(
    run: ResolvedRun, *, data: DataOptions, runs_dir: Path, launch: distributed.Distributed | None = None,
    parent_run_id: str | None = None,
) -> JobOutcome:
    """Train a resolved run and log it to MLflow with its score files, figures, datasets and resolved config."""
    from dgfas.tracking.figures import roc_det_figure
    from dgfas.tracking.run_contract import MAP_EXAMPLES
    from dgfas.tracking.run_views import map_gallery, map_names
    from dgfas.tracking.tracked_run import TrackedRun

    spec = run.spec
    name = f"{run.variant} {spec.protocol} seed{spec.seed}"
    if spec.holdout_source is not None:
        name += f" without {spec.holdout_source}"
    out_dir = runs_dir / spec.suite / run.run_key
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DgfasError(f"cannot write run folder {out_dir}: {error.strerror or error}") from None
    checkpoint = out_dir / "checkpoint.pt"
    record = _record(run)
    with TrackedRun.start(record.suite, name, record.params, record.tags(), parent_run_id=parent_run_id,
                          system_metrics=True) as tracked:
        if checkpoint.is_file():
            tracked.log_metrics({"resumed_from_checkpoint": 1.0})
        _log_datasets(tracked, run)
        result = train(run, tracked.log_metrics, progress=data.progress, checkpoint=checkpoint, launch=launch)
        tracked.log_results(result.metrics, intra=run.protocol.kind == "intra")
        for path in [*write_score_files(result.tables, out_dir), run.protocol.path]:
            tracked.log_artifact(path)
        if result.map_examples:  # the HTML leaderboard's gallery of predicted maps, and the UI's
            atomic_write(out_dir / MAP_EXAMPLES, lambda file: np.savez_compressed(file, **result.map_examples))
            tracked.log_artifact(out_dir / MAP_EXAMPLES)
            columns = "_".join(["input", *map_names(result.map_examples)])
            tracked.log_image(map_gallery(result.map_examples), f"maps/target_test_{columns}.png")
        tracked.log_dict(
            {
                "spec": dataclasses.asdict(spec),
                "algorithm": dataclasses.asdict(run.algorithm_config),
                "model": dataclasses.asdict(run.model_config),
                "trainer": dataclasses.asdict(run.trainer_config),
                "protocol": str(run.protocol.path),
                "data_fingerprint": run.data_fingerprint,
            },
            "resolved_config.json",
        )
        for role in EVALUATED_ROLES:
            table = result.tables[table_name(role, "video")]
            title = f"{run.variant} {spec.protocol} seed {spec.seed}: {role.replace('_', ' ')}, video level"
            tracked.log_figure(roc_det_figure(table["label"].to_numpy(), table["score"].to_numpy(), title),
                               f"roc_det_{role}.png")
    for path in out_dir.glob("checkpoint*.pt"):  # one per process of a distributed run
        checkpoints.remove(path)
    return JobOutcome(spec, run.variant, run.run_key, "finished", run.trainer_config.selection_rule, result.metrics, result.seconds)


def _log_datasets(tracked: TrackedRun, run: ResolvedRun) -> None:
    """The run's frames as MLflow datasets: each source domain's training frames, source validation, target test.

    Each dataset's digest is the fingerprint of its frames, the same hash
    the run's ``data_fingerprint`` (part of its key) is made of.
    """
    from dgfas.data.frames import frames_fingerprint
    from dgfas.tracking.run_views import video_table

    parts = [(f"train {domain}", frames, "training") for domain, frames in run.source_train.items()]
    parts += [("source validation", run.source_val, "validation"), ("target test", run.target_test, "test")]
    for label, frames, context in parts:
        tracked.log_dataset(video_table(frames), name=f"{run.protocol.run_name} {label}",
                            digest=frames_fingerprint([frames]), context=context)


def outcome_summary(outcome: JobOutcome) -> str:
    """The end of a job's progress line: its headline numbers, or that it was skipped."""
    if outcome.status == "skipped":
        return "already finished, skipped"
    if outcome.status == "elsewhere":
        return f"running elsewhere ({outcome.holder}), skipped"
    m = outcome.metrics
    return (
        f"HTER {100 * m[TARGET_HTER]:.1f}% (dev_eer threshold), "
        f"AUC {100 * m[TARGET_AUC]:.1f}%, {outcome.seconds:.0f}s"
    )


def write_leaderboards(outcomes: list[JobOutcome], leaderboard_dir: Path, draw_rule: str | None = None) -> None:
    """Write the leaderboard of every (suite, selection rule) the jobs ran or skipped in."""
    from dgfas.tracking.leaderboard import write_leaderboard

    for suite, selection_rule in dict.fromkeys((o.spec.suite, o.selection_rule) for o in outcomes):
        paths = write_leaderboard(suite, leaderboard_dir, selection_rule=selection_rule, draw_rule=draw_rule)
        print(f"leaderboard: {', '.join(str(p) for p in paths)}", file=sys.stderr)


def run_benchmark(
    specs: list[RunSpec],
    *,
    data: DataOptions,
    runs_dir: Path,
    leaderboard_dir: Path,
) -> list[JobOutcome]:
    """Run every job in order, then write each suite's leaderboard."""
    from dgfas.tracking.store import open_store

    suites = sorted({spec.suite for spec in specs})
    open_store(suites)  # an unusable store fails now, before any data is built
    outcomes = []
    started = time.perf_counter()
    with command_runs("benchmark", suites) as parents:
        for index, spec in enumerate(specs, 1):
            try:
                outcome = run_job(spec, data=data, runs_dir=runs_dir, parent_run_id=parents.parent_id(spec.suite))
            except UnsupportedSetting as error:
                job, result = f"{spec.method} on {spec.protocol} seed {spec.seed}", f"not run: {error}"
            else:
                outcomes.append(outcome)
                job, result = f"{outcome.variant} on {spec.protocol} seed {spec.seed}", outcome_summary(outcome)
            parents.record(spec.suite, job, result)
            print(f"[{index}/{len(specs)}] {job}: {result}", file=sys.stderr)
    write_leaderboards(outcomes, leaderboard_dir)
    print(f"benchmark done in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return outcomes
