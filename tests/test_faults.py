"""Faults a long run on a shared cluster meets, each driven through the command line in subprocesses.

Two benchmarks on one store, SIGTERM and ``kill -9`` mid-training then a
rerun, an unusable tracking store, a bad ``--seeds``: each test asserts the
outcome a user sees (exit status, the one error line) and what the store holds
afterwards (every job trained once, no run left RUNNING, the resumed metrics
equal to an uninterrupted run's).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dgfas.cli import main
from fault_runs import SUITE, final_metrics, job_runs

REPO = Path(__file__).resolve().parents[1]
LONG_RUN = ["--set", "trainer.steps=60", "--set", "trainer.eval_every=2"]
"""A tiny-preset erm run long enough to be caught between checkpoints (one is saved at every evaluation)."""


def _environment(store: Path) -> dict[str, str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store}", "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    env.pop("DGFAS_CACHE", None)
    return env


def _command(workdir: Path, cache: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "dgfas.cli", "benchmark", "--preset", "tiny", "--no-progress", "--cache", str(cache),
            "--runs-dir", str(workdir / "runs"), "--leaderboard-dir", str(workdir / "boards"), *args]


@pytest.mark.slow
@pytest.mark.parametrize("store_exists", [False, True], ids=["new-store", "existing-store"])
def test_two_benchmarks_on_one_store_train_every_job_exactly_once(tmp_path, generated_tiny_cache, store_exists):
    store = tmp_path / "mlflow.db"
    if store_exists:
        create = [sys.executable, "-c", f"from dgfas.tracking.store import open_store; open_store([{SUITE!r}])"]
        subprocess.run(create, env=_environment(store), check=True, timeout=120)
    jobs = ["--protocols", "C-I,I-C", "--methods", "erm,basn", "--seeds", "0,1"]  # 8 jobs
    command = _command(tmp_path, generated_tiny_cache, *jobs)
    processes = [subprocess.Popen(command, env=_environment(store), cwd=tmp_path,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    logs = [process.communicate(timeout=600)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], logs

    runs = job_runs(store)
    keys = [run.data.tags["dgfas.run_key"] for run in runs]
    assert len(keys) == len(set(keys)) == 8, "a job was trained twice or not at all"
    assert {run.info.status for run in runs} == {"FINISHED"}
    lines = [line for log in logs for line in log.splitlines() if line.startswith("[")]
    trained = [line for line in lines if ": HTER " in line]
    not_ours = [line for line in lines if "running elsewhere" in line or "already finished, skipped" in line]
    assert len(trained) == 8 and len(not_ours) == 8, logs


def _interrupted_then_resumed(tmp_path: Path, cache: Path, how: signal.Signals) -> tuple[list, str]:
    """Start a long erm run, send ``how`` once its first checkpoint is on disk, then run the same command again."""
    store = tmp_path / "mlflow.db"
    command = _command(tmp_path, cache, "--protocols", "C-I", "--methods", "erm", *LONG_RUN)
    process = subprocess.Popen(command, env=_environment(store), cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list((tmp_path / "runs").rglob("checkpoint.pt")):
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    process.send_signal(how)
    stderr = process.communicate(timeout=120)[1]
    (checkpoint,) = (tmp_path / "runs").rglob("checkpoint.pt")
    leftover = checkpoint.with_name(".checkpoint.pt.x1y2.tmp")  # what a kill in the middle of a write leaves
    leftover.write_bytes(b"half a checkpoint")
    before = {run.info.run_id: run.info.status for run in job_runs(store)}

    rerun = subprocess.run(command, env=_environment(store), cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert not leftover.exists()
    return [process.returncode, stderr, before], rerun.stderr


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, generated_tiny_cache) -> dict[str, float]:
    """Final metrics of the long erm run trained in one go."""
    workdir = tmp_path_factory.mktemp("uninterrupted")
    store = workdir / "mlflow.db"
    done = subprocess.run(_command(workdir, generated_tiny_cache, "--protocols", "C-I", "--methods", "erm", *LONG_RUN),
                          env=_environment(store), cwd=workdir, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    (run,) = job_runs(store)
    return final_metrics(store, run)


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
def test_an_interrupted_run_ends_killed_and_a_rerun_resumes_it_to_the_same_metrics(
        tmp_path, generated_tiny_cache, uninterrupted, how):
    (returncode, stderr, before), rerun_log = _interrupted_then_resumed(tmp_path, generated_tiny_cache, how)
    if how == signal.SIGTERM:
        assert returncode == 128 + signal.SIGTERM
        assert stderr.strip().splitlines()[-1].startswith("dgfas: SIGTERM: finished runs are kept")
        assert list(before.values()) == ["KILLED"]  # ended by the process itself
    else:
        assert returncode == -signal.SIGKILL
        assert list(before.values()) == ["RUNNING"]  # nobody could end it

    runs = job_runs(tmp_path / "mlflow.db")
    statuses = {run.info.run_id: run.info.status for run in runs}
    (first,) = before
    assert statuses.pop(first) == "KILLED"  # an orphan of kill -9 is ended by the rerun that claims the job
    (finished,) = (run for run in runs if run.info.run_id in statuses)
    assert finished.info.status == "FINISHED" and finished.data.metrics["resumed_from_checkpoint"] == 1.0
    resumed = final_metrics(tmp_path / "mlflow.db", finished)
    for name, value in uninterrupted.items():
        if name.startswith(("target_test.", "source_val.")):
            assert resumed[name] == pytest.approx(value, rel=1e-5, abs=1e-6), name
    assert ": HTER " in rerun_log


@pytest.mark.parametrize(
    ("uri", "says"),
    [("http://127.0.0.1:9", "Connection refused"), ("sqlit:///store.db", "unsupported URI 'sqlit:///store.db'")],
    ids=["server-down", "malformed"],
)
def test_an_unusable_tracking_store_is_one_line_before_any_data_is_built(tmp_path, uri, says):
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(REPO)}
    # MLflow's own retries against a server that is down take minutes; the timeout fails the test if they come back.
    done = subprocess.run(_command(tmp_path, tmp_path / "cache", "--protocols", "C-I", "--methods", "erm"),
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"dgfas: error: cannot use the MLflow tracking store {uri} (MLFLOW_TRACKING_URI): ")
    assert says in line
    assert not (tmp_path / "cache").exists(), "data was built before the store was checked"


@pytest.mark.parametrize("seeds", ["0,1a", "-1", ","])
def test_a_bad_seed_is_one_line_naming_it(tmp_path, capsys, seeds):
    assert main(["benchmark", "--preset", "tiny", "--protocols", "C-I", "--methods", "erm", "--seeds", seeds,
                 "--cache", str(tmp_path / "cache")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("dgfas: error: --seeds: ")
    assert not (tmp_path / "cache").exists()
