"""One run on two processes with torchrun, on the CPU (gloo backend)."""

import os
import socket
import subprocess
import sys

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _torchrun(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), "-m", "dgfas.cli", *args,
               "--preset", "tiny", "--cache", str(tmp_path / "cache"), "--runs-dir", str(tmp_path / "runs"),
               "--no-progress", "--workers", "1"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
@pytest.mark.parametrize(("method", "protocol"), [("erm", "C-I"), ("multitask_meta", "OCI-M")])
def test_torchrun_trains_one_run_on_two_processes_and_logs_it_once(tmp_path, monkeypatch, method, protocol):
    done = _torchrun(tmp_path, "train", "--protocol", protocol, "--method", method)
    assert done.returncode == 0, done.stderr[-3000:]

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    from dgfas.tracking.mlflow_store import _client, load_run_records

    records = load_run_records("synthetic-tiny")
    assert len(records) == 1  # only process 0 talks to MLflow
    run = _client().get_run(records["run_id"].iloc[0])
    assert run.data.tags["dgfas.world_size"] == "2"
    assert run.data.params["trainer.world_size"] == "2"  # twice the images per step: another experiment

    again = _torchrun(tmp_path, "train", "--protocol", protocol, "--method", method)
    assert again.returncode == 0 and '"status": "skipped"' in again.stdout  # every process agrees to skip
