"""A benchmark and its leaderboard against a real MLflow tracking server, as a team would run them."""

import socket
import subprocess
import sys

import pytest

from dgfas.cli import main
from dgfas.tracking.ui import stop_server, wait_until_up


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server_url(tmp_path):
    """``mlflow server`` on a free local port: SQLite backend, artifacts served over HTTP (``--serve-artifacts``)."""
    port = _free_port()
    with open(tmp_path / "server.log", "w+b") as log:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "mlflow", "server",
                "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
                "--serve-artifacts", "--artifacts-destination", str(tmp_path / "server-artifacts"),
                "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            ],
            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(url, server, log)
            yield url
        finally:
            stop_server(server)


@pytest.mark.slow
def test_benchmark_and_leaderboard_through_a_tracking_server(server_url, tmp_path, monkeypatch, capsys):
    from mlflow import MlflowClient

    from dgfas.tracking.stored_runs import load_run_records
    from dgfas.tracking.run_contract import INVOCATION_TAG

    work = tmp_path / "client"
    work.mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server_url)
    monkeypatch.chdir(work)
    assert main([
        "benchmark", "--preset", "tiny", "--protocols", "C-I", "--methods", "erm", "--seeds", "0,1", "--no-progress",
        "--cache", str(work / "cache"), "--runs-dir", str(work / "runs"), "--leaderboard-dir", str(work / "boards"),
    ]) == 0
    # MLflow prints a link to each run it ends on a server; it goes to stderr, not into dgfas's stdout
    assert capsys.readouterr().out == ""
    assert not (work / ".dgfas" / "mlflow.db").exists()  # nothing fell back to the local store

    client = MlflowClient(server_url)
    experiment = client.get_experiment_by_name("synthetic-tiny")
    everything = client.search_runs([experiment.experiment_id])
    (parent,) = (run for run in everything if INVOCATION_TAG in run.data.tags)
    runs = [run for run in everything if run is not parent]
    assert len(runs) == 2 and {run.info.experiment_id for run in runs} == {experiment.experiment_id}
    assert {run.data.tags["mlflow.parentRunId"] for run in runs} == {parent.info.run_id}
    # one experiment per suite, one set of metric names: MLflow's compare view lines the runs up
    assert runs[0].data.metrics.keys() == runs[1].data.metrics.keys()
    assert {"HTER", "AUC", "EER"} <= runs[0].data.metrics.keys()
    # artifacts went through the server into its artifact store, the final metrics' table among them
    assert all(run.info.artifact_uri.startswith("mlflow-artifacts:") for run in runs)
    assert len(list((tmp_path / "server-artifacts").rglob("target_test.video.csv"))) == 2
    assert len(list((tmp_path / "server-artifacts").rglob("metrics.json"))) == 2

    records = load_run_records("synthetic-tiny")
    assert sorted(zip(records["method"], records["protocol"], records["seed"])) == [("erm", "C-I", 0), ("erm", "C-I", 1)]
    hters = {run.info.run_id: run.data.metrics["HTER"] for run in runs}  # read back through the server's table artifacts
    assert [hters[run_id] for run_id in records["run_id"]] == pytest.approx((100 * records["target_test.video.hter.dev_eer"]).tolist())
    assert main(["leaderboard", "--suite", "synthetic-tiny", "--out", str(work / "boards"), "--html"]) == 0
    board = (work / "boards" / "synthetic-tiny.md").read_text(encoding="utf-8")
    assert "- Seeds per cell: 2" in board
    erm_row = next(line for line in board.splitlines() if line.startswith("| erm |"))  # the computed table's
    hter, _, auc = erm_row.split("|")[2].strip().partition(" / ")
    # two seeds: the mean and a bootstrap interval, from score files downloaded through the server
    assert hter.count("[") == 1 and auc.count("[") == 1 and "±" not in erm_row
    # the ROC curves were drawn from score files downloaded through the server
    assert '<img class="roc"' in (work / "boards" / "synthetic-tiny.html").read_text(encoding="utf-8")
