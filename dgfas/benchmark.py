"""Run jobs (protocol × method × seed) into MLflow, skipping finished ones.

A job's identity is the hash of its resolved arguments and the data it used
(``dgfas.run_key``), so running the benchmark again only runs what is missing
or failed, and an interrupted benchmark resumes at the job it stopped in.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dgfas
from dgfas.data.registry import DataOptions
from dgfas.errors import DgfasError, UnsupportedSetting
from dgfas.trainer import ResolvedRun, RunSpec, git_commit, resolve, train, write_score_files


def default_cache_dir() -> Path:
    """``$DGFAS_CACHE`` or ``.dgfas/cache`` in the working directory (outside git)."""
    return Path(os.environ.get("DGFAS_CACHE", ".dgfas/cache"))


def default_runs_dir() -> Path:
    return Path(os.environ.get("DGFAS_RUNS", ".dgfas/runs"))


@dataclass
class JobOutcome:
    spec: RunSpec
    variant: str
    run_key: str
    status: str  # "finished" or "skipped"
    selection_rule: str
    metrics: dict[str, float]
    seconds: float


def _tags(run: ResolvedRun) -> dict[str, str]:
    spec = run.spec
    return {
        "dgfas.suite": spec.suite,
        "dgfas.method": spec.method,
        "dgfas.protocol": spec.protocol,
        "dgfas.seed": str(spec.seed),
        "dgfas.preset": spec.preset,
        "dgfas.data_source": spec.data_source,
        "dgfas.selection_rule": run.trainer_config.selection_rule,
        "dgfas.threshold_rules": "dev_eer,oracle_eer",
        "dgfas.git_commit": git_commit(),
        "dgfas.data_fingerprint": run.data_fingerprint,
        "dgfas.run_key": run.run_key,
        "dgfas.code_version": dgfas.__version__,
    }


def run_job(spec: RunSpec, *, data: DataOptions, runs_dir: Path) -> JobOutcome:
    """Resolve, train, score and log one job, unless an identical one finished before."""
    from dgfas.tracking.mlflow_store import TrackedRun, find_finished_run, roc_figure

    run = resolve(spec, data)
    done = find_finished_run(spec.suite, run.run_key)
    if done is not None:
        return JobOutcome(spec, run.variant, run.run_key, "skipped", run.trainer_config.selection_rule, {}, 0.0)
    name = f"{run.variant} {spec.protocol} seed{spec.seed}"
    out_dir = runs_dir / spec.suite / run.run_key
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DgfasError(f"cannot write run folder {out_dir}: {error.strerror or error}") from None
    checkpoint = out_dir / "checkpoint.pt"
    with TrackedRun.start(spec.suite, name, run.params(), _tags(run)) as tracked:
        if checkpoint.is_file():
            tracked.log_metrics({"resumed_from_checkpoint": 1.0})
        result = train(run, tracked.log_metrics, progress=data.progress, checkpoint=checkpoint)
        tracked.log_metrics(result.metrics)
        for path in [*write_score_files(result.tables, out_dir), run.protocol.path]:
            tracked.log_artifact(path)
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
        for role in ("source_val", "target_test"):
            table = result.tables[f"{role}.video"]
            figure = roc_figure(table["label"].to_numpy(), table["score"].to_numpy(), f"{name}: {role} (video level)")
            tracked.log_figure(figure, f"roc_{role}.png")
    checkpoint.unlink(missing_ok=True)
    return JobOutcome(spec, run.variant, run.run_key, "finished", run.trainer_config.selection_rule, result.metrics, result.seconds)


def run_benchmark(
    specs: list[RunSpec],
    *,
    data: DataOptions,
    runs_dir: Path,
    leaderboard_dir: Path,
) -> list[JobOutcome]:
    """Run every job in order, then write each suite's leaderboard."""
    from dgfas.tracking.leaderboard import write_leaderboard

    outcomes = []
    started = time.perf_counter()
    for index, spec in enumerate(specs, 1):
        try:
            outcome = run_job(spec, data=data, runs_dir=runs_dir)
        except UnsupportedSetting as error:
            print(f"[{index}/{len(specs)}] {spec.method} on {spec.protocol} seed {spec.seed}: not run: {error}", file=sys.stderr)
            continue
        outcomes.append(outcome)
        if outcome.status == "skipped":
            summary = "already finished, skipped"
        else:
            m = outcome.metrics
            summary = (
                f"HTER {100 * m['target_test.video.hter.dev_eer']:.1f}% (dev_eer threshold), "
                f"AUC {100 * m['target_test.video.auc']:.1f}%, {outcome.seconds:.0f}s"
            )
        print(f"[{index}/{len(specs)}] {outcome.variant} on {spec.protocol} seed {spec.seed}: {summary}", file=sys.stderr)
    boards = dict.fromkeys((o.spec.suite, o.selection_rule) for o in outcomes)
    for suite, selection_rule in boards:
        paths = write_leaderboard(suite, leaderboard_dir, selection_rule=selection_rule)
        print(f"leaderboard: {', '.join(str(p) for p in paths)}", file=sys.stderr)
    print(f"benchmark done in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return outcomes
