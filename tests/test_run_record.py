"""A run's record: the tags and metric names it is written under are those stored runs were written under, and read back."""

import pytest

from dgfas import metric_names
from dgfas.errors import DgfasError
from dgfas.tracking.record import RECORD_COLUMNS, Machine, RunRecord, StoredRecord, source_tags
from dgfas.tracking.row_setup import SETUP_COLUMNS

_MACHINE = Machine("node1", "2.4.0", "cuda:0", "NVIDIA H200", 8)


def _job(**changes) -> RunRecord:
    fields = dict(
        suite="synthetic-tiny", method="erm", protocol="C-I", seed="1", preset="tiny", data_source="synthetic",
        selection_rule="source_val", data_fingerprint="fp", run_key="key1", protocol_file="/p/C-I.toml",
        params={"method": "erm", "variant": "erm[lr=0.1]", "seed": "1", "preset": "tiny", "data_source": "synthetic",
                "selection_rule": "source_val", "code_hash": "abc", "protocol": "C-I", "protocol_hash": "ph",
                "algorithm.model": "resnet18", "model.width": "64", "model.weights": "none", "holdout_source": "M"},
        git_commit="c0ffee+dirty", machine=_MACHINE, world_size=1, hparam_draw=0, holdout_source="M",
    )
    return RunRecord(**{**fields, **changes})


def test_a_jobs_tags_are_those_runs_have_always_been_written_with():
    assert _job().tags() == {
        "dgfas.suite": "synthetic-tiny", "dgfas.method": "erm", "dgfas.protocol": "C-I", "dgfas.seed": "1",
        "dgfas.preset": "tiny", "dgfas.data_source": "synthetic", "dgfas.selection_rule": "source_val",
        "dgfas.threshold_rules": "dev_eer,oracle_eer", "dgfas.data_fingerprint": "fp", "dgfas.run_key": "key1",
        "dgfas.protocol_file": "/p/C-I.toml", "dgfas.world_size": "1", "dgfas.host": "node1",
        "dgfas.torch_version": "2.4.0", "mlflow.source.name": "dgfas", "mlflow.source.type": "LOCAL",
        "dgfas.git_commit": "c0ffee+dirty", "mlflow.source.git.commit": "c0ffee", "dgfas.device": "cuda:0",
        "dgfas.device_name": "NVIDIA H200", "dgfas.torch_threads": "8", "dgfas.hparam_draw": "0",
        "dgfas.holdout_source": "M",
    }
    assert not {"dgfas.hparam_draw", "dgfas.holdout_source"} & set(_job(hparam_draw=None, holdout_source=None).tags())


def test_a_submission_records_its_commit_and_no_machine():
    record = _job(seed="submitted", machine=None, world_size=None, hparam_draw=None, holdout_source=None,
                  submission=True, git_commit="c0ffee")
    assert record.tags() == {
        "dgfas.suite": "synthetic-tiny", "dgfas.method": "erm", "dgfas.protocol": "C-I", "dgfas.seed": "submitted",
        "dgfas.preset": "tiny", "dgfas.data_source": "synthetic", "dgfas.selection_rule": "source_val",
        "dgfas.threshold_rules": "dev_eer,oracle_eer", "dgfas.data_fingerprint": "fp", "dgfas.run_key": "key1",
        "dgfas.protocol_file": "/p/C-I.toml", "dgfas.submission": "true", "dgfas.git_commit": "c0ffee",
    }
    assert "dgfas.git_commit" not in _job(machine=None, git_commit=None).tags()


def test_a_commands_parent_names_the_host_and_commit_but_no_device():
    assert source_tags(None, Machine("node1", "2.4.0")) == {
        "dgfas.host": "node1", "dgfas.torch_version": "2.4.0", "mlflow.source.name": "dgfas",
        "mlflow.source.type": "LOCAL"}


def test_what_a_run_writes_reads_back_as_its_leaderboard_row():
    record = _job()
    row = StoredRecord.read("run1", 123, record.params, record.tags()).columns()
    assert row == {
        "method": "erm[lr=0.1]", "protocol": "C-I", "seed": "1", "data_source": "synthetic", "preset": "tiny",
        "selection_rule": "source_val", "run_id": "run1", "run_key": "key1", "start_time": 123, "hparam_draw": 0,
        "holdout_source": "M", "algorithm.model": "resnet18", "model.width": "64", "model.weights": "none",
        "code_hash": "abc", "protocol_hash": "ph", "protocol_file": "/p/C-I.toml", "torch_version": "2.4.0",
        "device_name": "NVIDIA H200", "torch_threads": "8",
    }
    assert set(SETUP_COLUMNS) <= set(row) and list(row)[:len(RECORD_COLUMNS)] == list(RECORD_COLUMNS)


def test_an_old_run_reads_back_from_its_tags_with_none_for_what_it_did_not_record():
    tags = {"dgfas.method": "erm", "dgfas.protocol": "C-I", "dgfas.seed": "2", "dgfas.data_source": "synthetic",
            "dgfas.preset": "tiny", "dgfas.selection_rule": "last"}
    row = StoredRecord.read("old", 5, {}, tags).columns()
    assert (row["method"], row["seed"], row["run_key"], row["hparam_draw"], row["code_hash"]) == ("erm", "2", "", None, None)
    with pytest.raises(DgfasError, match="MLflow run old has neither param 'preset' nor tag 'dgfas.preset'"):
        StoredRecord.read("old", 5, {}, {k: v for k, v in tags.items() if k != "dgfas.preset"})


def test_metric_and_score_file_names_are_those_stored_runs_hold():
    assert metric_names.metric_name("target_test", "video", "hter", "dev_eer") == "target_test.video.hter.dev_eer"
    assert metric_names.metric_name("source_val", "frame", "auc") == "source_val.frame.auc"
    assert metric_names.selection_prefix("oracle") + metric_names.TARGET_AUC == "selection.oracle.target_test.video.auc"
    assert metric_names.score_file(metric_names.selection_prefix("oracle") + metric_names.TARGET_VIDEO) == (
        "selection.oracle.target_test.video.csv")
    assert metric_names.score_file(metric_names.table_name("source_val", "frame")) == "source_val.frame.csv"
    assert metric_names.EVALUATION_CURVES == ("source_val.video.eer", "source_val.video.auc", "target_test.video.auc",
                                              "target_test.video.hter.dev_eer")
    assert (metric_names.TARGET_HTER, metric_names.TARGET_ORACLE_HTER) == (
        "target_test.video.hter.dev_eer", "target_test.video.hter.oracle_eer")
    assert metric_names.FINAL_METRIC_ROLES == ("source_val", "target_test", "selection")
