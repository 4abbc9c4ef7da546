"""What a benchmark shows in MLflow's UI: a parent run per command, few metrics in percent, and ``dgfas ui``.

One tiny benchmark (erm and pyramid on C-I) is logged once for the module; the
last test opens ``dgfas ui`` on it in headless Chromium.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dgfas.cli import main
from dgfas.tracking.run_contract import HEADLINE_METRICS, INVOCATION_TAG, METRICS_TABLE

REPO = Path(__file__).resolve().parents[1]
SUITE = "synthetic-tiny"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)


def _benchmark(work: Path) -> int:
    return main(["benchmark", "--preset", "tiny", "--protocols", "C-I", "--methods", "erm,pyramid", "--no-progress",
                 "--workers", "1", "--cache", str(work / "cache"), "--runs-dir", str(work / "runs"),
                 "--leaderboard-dir", str(work / "boards")])


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """A SQLite store holding one finished tiny benchmark; the tests run with it as the tracking store."""
    work = tmp_path_factory.mktemp("ui")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{work / 'mlflow.db'}")
        patch.chdir(work)
        assert _benchmark(work) == 0
        yield work


def _client(store: Path):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")


def _runs(store: Path) -> list:
    client = _client(store)
    return client.search_runs([client.get_experiment_by_name(SUITE).experiment_id])


@pytest.mark.slow
def test_a_benchmark_is_a_parent_run_whose_jobs_log_few_metrics_a_table_datasets_and_tags(store, capsys):
    from dgfas.tracking.stored_runs import load_run_records

    client = _client(store)
    runs = _runs(store)
    (parent,) = (run for run in runs if INVOCATION_TAG in run.data.tags)
    jobs = [run for run in runs if run is not parent]
    assert parent.data.tags[INVOCATION_TAG] == "benchmark" and parent.info.status == "FINISHED"
    assert sorted(run.info.run_name for run in jobs) == ["erm C-I seed0", "pyramid C-I seed0"]
    records = load_run_records(SUITE).set_index("run_id")  # the parent is no record
    assert sorted(records.index) == sorted(run.info.run_id for run in jobs)

    for run in jobs:
        tags, metrics = run.data.tags, run.data.metrics
        assert tags["mlflow.parentRunId"] == parent.info.run_id
        # the headline in percent, then the training curves; every final metric is in the table instead
        curves = {name for name in metrics if name.startswith(("train.", "eval.", "system/"))}
        assert set(metrics) - curves == set(HEADLINE_METRICS)
        assert len([name for name in curves if not name.startswith("system/")]) < 10
        assert sorted(metrics)[:3] == sorted(HEADLINE_METRICS)  # above the curves in MLflow's compare view
        record = records.loc[run.info.run_id]
        for short, name in HEADLINE_METRICS.items():
            assert metrics[short] == pytest.approx(100 * record[name])
        table = json.loads(Path(client.download_artifacts(run.info.run_id, METRICS_TABLE, str(store))).read_text())
        assert table["columns"] == ["metric", "value"] and len(table["data"]) > 200
        assert {tag: tags[tag] for tag in ("dgfas.host", "dgfas.device")} == {"dgfas.host": socket.gethostname(),
                                                                             "dgfas.device": "cpu"}
        assert tags["dgfas.torch_version"] and tags["dgfas.device_name"]
        if "dgfas.git_commit" in tags:  # a git checkout
            assert tags["mlflow.source.git.commit"] == tags["dgfas.git_commit"].removesuffix("+dirty")
        datasets = {entry.dataset.name: entry for entry in run.inputs.dataset_inputs}
        assert sorted(datasets) == ["C-I source validation", "C-I target test", "C-I train C"]
        assert all(re.fullmatch("[0-9a-f]{16}", entry.dataset.digest) for entry in datasets.values())
        assert [tag.value for tag in datasets["C-I train C"].tags] == ["training"]
        artifacts = {item.path for item in client.list_artifacts(run.info.run_id)}
        assert {"roc_det_source_val.png", "roc_det_target_test.png", METRICS_TABLE} <= artifacts
    (pyramid,) = (run for run in jobs if run.info.run_name.startswith("pyramid"))
    assert [item.path for item in client.list_artifacts(pyramid.info.run_id, "maps")] == [
        "maps/target_test_input_depth.png"]

    # Run again: a parent of its own, whose jobs were found finished by their keys and skipped.
    assert _benchmark(store) == 0
    assert capsys.readouterr().err.count("already finished, skipped") == 2
    again = [run for run in _runs(store) if INVOCATION_TAG in run.data.tags and run.info.run_id != parent.info.run_id]
    assert len(again) == 1 and len(_runs(store)) == 4
    jobs_table = json.loads(Path(client.download_artifacts(again[0].info.run_id, "jobs.json", str(store))).read_text())
    assert [row[1] for row in jobs_table["data"]] == ["already finished, skipped"] * 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _chromium(url: str, profile: Path, *output: str) -> str:
    """Load ``url`` in headless Chromium with time for the UI's requests; what ``output`` (a flag) asks of it."""
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--window-size=1600,900", "--virtual-time-budget=60000", *output, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=True).stdout


def _metric_cells(dom: str) -> dict[str, dict[str, str]]:
    """The runs table's metric cells as {run id: {metric: shown text}}, from a DOM dump of MLflow's grid."""
    cells: dict[str, dict[str, str]] = {}
    rows = re.split(r'(?=<div[^>]*role="row"[^>]*row-id=")', dom)
    for row in rows:
        found = re.match(r'<div[^>]*row-id="([0-9a-f]+)"', row)
        if found is None:
            continue
        for name, content in re.findall(r'role="gridcell"[^>]*col-id="metrics\.`(\w+)`"[^>]*>(.*?)(?=<div[^>]*role="gridcell"|$)',
                                        row, flags=re.S):
            cells.setdefault(found.group(1), {})[name] = re.sub(r"<[^>]+>", "", content).strip()
    return cells


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (/usr/bin/chromium or `chromium` on PATH) to render the UI")
def test_dgfas_ui_opens_the_runs_table_with_the_headline_columns_in_chromium(store, tmp_path):
    from dgfas.tracking.stored_runs import load_run_records

    port = _free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}", "PYTHONPATH": str(REPO)}
    output = tmp_path / "ui.out"
    with open(output, "w") as out:
        ui = subprocess.Popen([sys.executable, "-m", "dgfas.cli", "ui", "--port", str(port)], env=env, cwd=tmp_path,
                              stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 600
        while not (found := re.search(rf"^{SUITE}: (http://\S+)$", output.read_text(), flags=re.M)):
            assert ui.poll() is None and time.monotonic() < deadline, output.read_text()
            time.sleep(0.5)
        url = found.group(1)
        assert url.startswith(f"http://127.0.0.1:{port}/#/experiments/") and "workflowType=machine_learning" in url

        screenshot = tmp_path / "runs-table.png"
        _chromium(url, tmp_path / "screenshot-profile", f"--screenshot={screenshot}")
        print(f"screenshot of the MLflow runs table: {screenshot}")
        assert screenshot.stat().st_size > 10_000
        dom = _chromium(url, tmp_path / "dom-profile", "--dump-dom")
    finally:
        ui.send_signal(signal.SIGTERM)
        assert ui.wait(timeout=120) == 0, output.read_text()
    with pytest.raises(OSError):  # the server went with it
        socket.create_connection(("127.0.0.1", port), timeout=2).close()

    # the headline columns, in the view's order (the grid's column index; its DOM order is another)
    headers = re.findall(r'role="columnheader"[^>]*aria-colindex="(\d+)"[^>]*col-id="metrics\.`(\w+)`"', dom)
    assert [name for _, name in sorted(headers, key=lambda header: int(header[0]))] == ["HTER", "AUC", "EER"]
    assert set(re.findall(r'data-testid="sort-header-([^"]+)"', dom)) >= {"HTER", "AUC", "EER"}  # shown as titles
    shown = _metric_cells(dom)
    records = load_run_records(SUITE).set_index("run_id")
    assert len(records) == 2
    for run_id, record in records.iterrows():
        for short, name in HEADLINE_METRICS.items():
            assert float(shown[run_id][short]) == pytest.approx(100 * record[name])


def test_dgfas_ui_without_a_store_is_a_one_line_error_and_starts_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'none.db'}")
    assert main(["ui", "--port", str(_free_port())]) == 2
    err = capsys.readouterr().err
    assert err == f"dgfas: error: no tracking store at sqlite:///{tmp_path / 'none.db'}: run `dgfas benchmark` first, " \
                  "or set MLFLOW_TRACKING_URI\n"
    assert not (tmp_path / "none.db").exists()
