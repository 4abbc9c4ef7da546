"""TrackedRun, find_finished_run and load_run_records against a throw-away SQLite store.

One store is shared by the module's tests because creating MLflow's tables takes
a few seconds; each test uses its own suite (experiment) name.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dgfas.code_identity import code_hash
from dgfas.errors import DgfasError
from dgfas.protocols import get_protocol
from dgfas.tracking.figures import roc_det_figure
from dgfas.tracking.leaderboard import write_leaderboard
from dgfas.tracking.stored_runs import download_artifacts, find_finished_run, load_run_records
from dgfas.metric_names import FINAL_METRIC_ROLES
from dgfas.tracking.record import RECORD_ID_COLUMNS
from dgfas.tracking.run_contract import INVOCATION_TAG
from dgfas.tracking.store import tracking_uri
from dgfas.tracking.tracked_run import MAX_PARAM_VALUE_LENGTH, TrackedRun, headline_metrics


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mlflow")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'runs.db'}")
        yield root


def _start(suite: str, method: str, protocol: str, seed: int, run_key: str, parent_run_id: str | None = None,
           **extra_params) -> TrackedRun:
    params = {
        "method": method,
        "protocol": protocol,
        "seed": seed,
        "preset": "tiny",
        "data_source": "synthetic",
        "selection_rule": "last",
        "algorithm.model": "resnet18",
        "code_hash": code_hash(method, "resnet18"),
        "protocol_hash": get_protocol(protocol).content_hash,
        **extra_params,
    }
    tags = {f"dgfas.{key}": value for key, value in params.items() if key in RECORD_ID_COLUMNS}
    tags.update({"dgfas.run_key": run_key, "dgfas.torch_version": "2.0.test", "dgfas.device_name": "Test CPU"})
    return TrackedRun.start(suite, f"{method}-{protocol}-s{seed}", params, tags, parent_run_id=parent_run_id)


def _final(hter: float, auc: float) -> dict[str, float]:
    return {
        "target_test.video.hter.dev_eer": hter,
        "target_test.video.auc": auc,
        "source_val.video.eer": 0.05,
    }


def test_round_trip_finished_failed_and_killed_runs(store):
    suite = "synthetic-tiny"
    with _start(suite, "erm", "OCI-M", 0, "key-a") as run:
        run.log_metrics({"train.loss": 0.9}, step=1)
        run.log_metrics({"train.loss": 0.5}, step=2)
        run.log_metrics(_final(0.10, 0.90))
        run.log_dict({"hello": 1}, "extra/info.json")
        figure = roc_det_figure(np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.9]), "OCI-M target")
        run.log_figure(figure, "roc/target_test.png")
        scores = store / "scores.csv"
        scores.write_text("video_id,frame,label,score\nv,0,1,0.9\n")
        run.log_artifact(scores)
    with _start(suite, "erm", "OCI-M", 1, "key-b") as run:
        run.log_metrics(_final(0.20, 0.80))
    with pytest.raises(RuntimeError):
        with _start(suite, "erm", "OCI-M", 2, "key-c") as run:
            run.log_metrics(_final(0.99, 0.01))
            raise RuntimeError("training diverged")
    unfinished = _start(suite, "erm", "OCI-M", 3, "key-d")
    unfinished.log_metrics(_final(0.99, 0.01))

    finished_id = find_finished_run(suite, "key-a")
    assert finished_id is not None
    assert find_finished_run(suite, "key-c") is None  # failed: retried on the next benchmark run
    assert find_finished_run(suite, "key-d") is None  # still running
    assert find_finished_run(suite, "no-such-key") is None
    assert find_finished_run("no-such-suite", "key-a") is None

    records = load_run_records(suite)
    assert sorted(records["seed"].tolist()) == [0, 1]
    assert records[["method", "protocol", "data_source", "preset", "selection_rule"]].drop_duplicates().values.tolist() == [
        ["erm", "OCI-M", "synthetic", "tiny", "last"]
    ]
    first = records.set_index("seed").loc[0]
    assert first["run_id"] == finished_id
    assert first["target_test.video.hter.dev_eer"] == pytest.approx(0.10)
    assert first["target_test.video.auc"] == pytest.approx(0.90)
    assert (first["algorithm.model"], first["code_hash"]) == ("resnet18", code_hash("erm", "resnet18"))
    assert (first["torch_version"], first["device_name"]) == ("2.0.test", "Test CPU")
    # Training curves are not records.
    assert not any(column.startswith("train.") for column in records.columns)

    client = unfinished.client
    status = client.get_run(finished_id).info.status
    artifacts = {item.path for item in client.list_artifacts(finished_id)}
    assert status == "FINISHED"
    assert {"params.json", "extra", "roc", "scores.csv"} <= artifacts
    failed = client.search_runs([client.get_experiment_by_name(suite).experiment_id], "tags.`dgfas.run_key` = 'key-c'")
    assert failed[0].info.status == "FAILED"
    unfinished.end("KILLED")
    assert client.get_run(unfinished.run_id).info.status == "KILLED"

    # The records feed the leaderboard directly.
    markdown_path, _ = write_leaderboard(suite, store / "boards", records=records)
    assert "| erm | 15.00 ± 5.00 / 85.00 ± 5.00 |" in markdown_path.read_text(encoding="utf-8")


def test_long_param_is_truncated_but_kept_whole_in_params_json(store):
    long_value = "x" * (MAX_PARAM_VALUE_LENGTH + 500)
    with _start("synthetic-long", "erm", "C-I", 0, "key-long", **{"algorithm.note": long_value}) as run:
        pass
    logged = run.client.get_run(run.run_id).data.params["algorithm.note"]
    assert len(logged) == MAX_PARAM_VALUE_LENGTH
    assert logged.endswith("params.json]")
    local = run.client.download_artifacts(run.run_id, "params.json", str(store))
    assert json.loads(Path(local).read_text())["algorithm.note"] == long_value


def test_load_run_records_of_unknown_suite_names_it(store):
    with pytest.raises(DgfasError, match="no MLflow experiment 'synthetic-nothing'"):
        load_run_records("synthetic-nothing")


def test_artifacts_of_a_sqlite_store_live_next_to_it(store):
    with _start("synthetic-artifacts", "erm", "I-C", 0, "key-art") as run:
        pass
    artifact_uri = run.client.get_run(run.run_id).info.artifact_uri
    assert artifact_uri.startswith((store / "runs-artifacts" / "synthetic-artifacts").as_uri())


def test_a_moved_store_still_finds_its_runs_artifacts(tmp_path, monkeypatch):
    before, after = tmp_path / "clone", tmp_path / "moved"
    before.mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{before / 'runs.db'}")
    scores = tmp_path / "target_test.video.csv"
    scores.write_text("video_id,frame,label,score\nv,0,1,0.5\n")
    with _start("synthetic-moved", "erm", "I-C", 0, "key-moved") as run:
        run.log_artifact(scores)
    before.rename(after)  # the recorded file:// location now points nowhere
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{after / 'runs.db'}")
    found = download_artifacts(run.run_id, ["target_test.video.csv", "absent.csv"], tmp_path / "out")
    assert list(found) == ["target_test.video.csv"]
    assert found["target_test.video.csv"].read_text() == scores.read_text()


def test_run_key_with_quotes_is_refused(store):
    with pytest.raises(DgfasError, match="run key"):
        find_finished_run("synthetic-tiny", "a' or '1'='1")


def test_default_tracking_uri_is_a_sqlite_file_under_dot_dgfas(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    uri = tracking_uri()
    assert uri == f"sqlite:///{tmp_path.resolve() / '.dgfas' / 'mlflow.db'}"
    assert (tmp_path / ".dgfas").is_dir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://example.invalid:5000")
    assert tracking_uri() == "http://example.invalid:5000"


def test_roc_det_figure_draws_both_curves_under_a_title_that_fits():
    title = "multitask_meta[triplet=False, model.width=0.5] OCI-M seed 0 without C: target test, video level"
    figure = roc_det_figure(np.array([1, 0, 1, 0]), np.array([0.8, 0.2, 0.6, 0.4]), title)
    roc_axes, det_axes = figure.axes
    assert (roc_axes.get_title(), det_axes.get_title()) == ("ROC", "DET")
    assert "AUC = 100.00%" in roc_axes.get_legend().get_texts()[0].get_text()
    assert det_axes.get_xlabel() == "spoofs accepted (APCER)" and det_axes.get_ylabel() == "live rejected (BPCER)"
    # the whole title is there, wrapped, and drawn inside the figure
    suptitle = figure._suptitle
    assert suptitle.get_text().replace("\n", " ") == title and "\n" in suptitle.get_text()
    renderer = figure.canvas.get_renderer()
    figure.draw(renderer)
    box = suptitle.get_window_extent(renderer)
    assert 0 <= box.x0 and box.x1 <= figure.bbox.width and box.y1 <= figure.bbox.height
    with pytest.raises(DgfasError, match="both live"):
        roc_det_figure(np.array([1, 1]), np.array([0.3, 0.4]), "one class")


def test_roc_curves_figure_is_a_matplotlib_figure_without_pyplot():
    code = ("import sys, numpy as np; from dgfas.tracking.figures import roc_curves_figure; "
            "f = roc_curves_figure({'erm': (np.array([1, 0]), np.array([0.9, 0.1]))}, 'C→I'); "
            "assert f.axes[0].get_title() == 'C→I' and 'matplotlib.pyplot' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tracking_does_not_import_mlflow_at_import_time():
    code = "import sys, dgfas.tracking; assert 'mlflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_variant_is_its_own_leaderboard_row(store):
    suite = "synthetic-variants"
    for variant, key in (("multitask_meta", "v-a"), ("multitask_meta[triplet=False]", "v-b")):
        with _start(suite, "multitask_meta", "OCI-M", 0, key, variant=variant) as run:
            run.log_metrics(_final(0.1, 0.9))
    records = load_run_records(suite)
    assert sorted(records["method"]) == ["multitask_meta", "multitask_meta[triplet=False]"]



def test_results_logged_as_headline_and_table_load_as_the_older_metrics_did(store):
    """A run of the table format and one of the older, all-metrics format give the same record columns and values."""
    final = {**_final(0.125, 0.875), "target_test.video.eer": 0.05, "selection.oracle.target_test.video.auc": 0.9,
             "source_val.video.apcer.dev_eer": 0.5}
    with TrackedRun.start("synthetic-parents", "benchmark now", {}, {INVOCATION_TAG: "benchmark"}) as parent:
        with _start("synthetic-parents", "erm", "C-I", 0, "new-format", parent_run_id=parent.run_id) as new:
            new.log_metrics({"train.loss": 0.7}, step=10)
            new.log_results(final, intra=False)
    with _start("synthetic-parents", "erm", "C-I", 1, "old-format") as old:
        old.log_metrics(final)

    records = load_run_records("synthetic-parents").set_index("seed")  # the parent is no record
    assert list(records.index) == [0, 1]
    metric_columns = [column for column in records.columns if column.split(".", 1)[0] in FINAL_METRIC_ROLES]
    assert metric_columns == sorted(final)
    assert records.loc[0, metric_columns].tolist() == records.loc[1, metric_columns].tolist() == [final[c] for c in metric_columns]

    run = new.client.get_run(new.run_id)
    assert run.data.tags["mlflow.parentRunId"] == parent.run_id
    assert run.data.metrics == {"HTER": 12.5, "AUC": 87.5, "EER": 5.0, "train.loss": 0.7}
    assert json.loads(run.data.tags["mlflow.loggedArtifacts"]) == [{"path": "metrics.json", "type": "table"}]


def test_an_intra_runs_headline_adds_the_iso_rates_in_percent():
    final = {"target_test.video.hter.dev_eer": 0.1, "target_test.video.auc": 0.95, "target_test.video.eer": 0.08,
             "target_test.video.apcer.dev_eer": 0.125, "target_test.video.bpcer.dev_eer": 0.075,
             "target_test.video.acer.dev_eer": 0.1}
    assert headline_metrics(final, intra=False) == {"HTER": 10.0, "AUC": 95.0, "EER": 8.0}
    assert headline_metrics(final, intra=True) == {
        "HTER": 10.0, "AUC": 95.0, "EER": 8.0, "APCER": 12.5, "BPCER": 7.5, "ACER": 10.0}


def test_a_run_samples_system_metrics_where_psutil_is_installed(store, monkeypatch):
    pytest.importorskip("psutil", reason="system metrics need psutil")
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")
    with _start("synthetic-system", "erm", "C-I", 0, "key-system") as run:
        pass  # no sampler without system_metrics=True
    with TrackedRun.start("synthetic-system", "sampled", {}, {}, system_metrics=True) as sampled:
        time.sleep(1.5)
    assert not run.client.get_run(run.run_id).data.metrics
    logged = run.client.get_run(sampled.run_id).data.metrics
    assert "system/cpu_utilization_percentage" in logged and "system/system_memory_usage_megabytes" in logged
