"""The README's benchmark, shrunk to the tiny preset, driven through ``main(argv)``."""

import os

import pytest

from dgfas.cli import main


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _benchmark(workdir, *extra):
    return main(
        [
            "benchmark", "--preset", "tiny", "--protocols", "OCI-M,C-I",
            "--no-progress",
            "--cache", str(workdir / "cache"), "--runs-dir", str(workdir / "runs"),
            "--leaderboard-dir", str(workdir / "boards"), *extra,
        ]
    )


@pytest.mark.slow
def test_benchmark_logs_to_mlflow_writes_the_leaderboard_and_resumes(workdir, capsys):
    from dgfas.tracking.stored_runs import load_run_records

    assert _benchmark(workdir) == 0
    err = capsys.readouterr().err
    # every registered method, on a leave-one-out protocol and a cross-test
    methods = ["auxiliary", "basn", "erm", "multitask_meta", "pyramid"]
    for i, method in enumerate(methods, 1):
        assert f"[{i}/10] {method} on OCI-M seed 0: HTER" in err
        if method != "multitask_meta":
            assert f"[{i + 5}/10] {method} on C-I seed 0: HTER" in err
    assert "[9/10] multitask_meta on C-I seed 0: not run: multitask_meta with meta or triplet needs at least 2" in err

    records = load_run_records("synthetic-tiny")
    expected = sorted([(m, "OCI-M") for m in methods] + [(m, "C-I") for m in methods if m != "multitask_meta"])
    assert sorted(zip(records["method"], records["protocol"])) == expected
    for column in ("target_test.video.hter.dev_eer", "target_test.video.auc", "source_val.frame.eer"):
        assert records[column].between(0, 1).all()

    board = (workdir / "boards" / "synthetic-tiny.md").read_text()
    leave_one_out, cross_test = board.split("## Cross-test protocols")
    assert "O&C&I→M" in leave_one_out and "C→I" in cross_test
    assert all(f"| {m} |" in leave_one_out for m in methods)
    assert "| multitask_meta |" not in cross_test and "| auxiliary |" in cross_test
    assert "Model selection: `source_val`" in board and "BASN" in board
    # cells carry bootstrap intervals from the runs' score files, and rows their difference to erm
    erm_row = next(line for line in leave_one_out.splitlines() if line.startswith("| erm |"))
    assert erm_row.count("[") == 4, erm_row  # HTER and AUC, O&C&I→M and Average
    assert "### Paired difference to `erm`" in leave_one_out
    assert (workdir / "boards" / "synthetic-tiny.csv").is_file()
    score_files = sorted(p.name for p in (workdir / "runs" / "synthetic-tiny").glob("*/*.csv"))
    assert score_files.count("target_test.video.csv") == 9
    assert not list((workdir / "runs").rglob("checkpoint.pt"))  # removed once a run finished

    from mlflow import MlflowClient

    artifacts = {a.path for a in MlflowClient().list_artifacts(records["run_id"].iloc[0])}
    assert {"OCI-M.toml", "C-I.toml"} & artifacts and "resolved_config.json" in artifacts
    assert {"target_test.video.csv", "target_test.frame.csv", "roc_det_target_test.png", "params.json",
            "selection.oracle.target_test.video.csv", "metrics.json"} <= artifacts

    # A second run finds the nine jobs finished and runs nothing again.
    assert _benchmark(workdir) == 0
    assert capsys.readouterr().err.count("already finished, skipped") == 9
    assert len(load_run_records("synthetic-tiny")) == 9


def test_unwritable_cache_is_a_one_line_error_and_writes_nothing(workdir, capsys):
    blocker = workdir / "file"
    blocker.write_text("not a folder")
    code = main(["train", "--protocol", "OCI-M", "--method", "erm", "--preset", "tiny", "--no-progress",
                 "--cache", str(blocker / "cache")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("dgfas: error: cannot write synthetic cache") and err.count("\n") == 1
    # The tracking store is opened before any data is built (so a bad one fails first); it holds no run.
    assert sorted(os.listdir(workdir)) == ["file", "mlflow.db", "mlflow.db.lock"]  # no cache
    from mlflow import MlflowClient

    client = MlflowClient()
    assert not client.search_runs([client.get_experiment_by_name("synthetic-tiny").experiment_id])


@pytest.mark.slow
def test_a_five_domain_protocol_runs_and_gets_its_own_table_while_four_domain_runs_never_render_siw(workdir, capsys):
    from dgfas.data.registry import DataOptions
    from dgfas.data.synthetic.generate import cache_folder
    from dgfas.presets import get_preset
    from dgfas.tracking.stored_runs import load_run_records

    def benchmark(protocol):
        return main(["benchmark", "--preset", "tiny", "--protocols", protocol, "--methods", "erm", "--no-progress",
                     "--cache", str(workdir / "cache"), "--runs-dir", str(workdir / "runs"),
                     "--leaderboard-dir", str(workdir / "boards")])

    preset = get_preset("tiny")
    cache = cache_folder(DataOptions(workdir / "cache", image_size=preset.image_size, scale=preset.data_scale))
    assert benchmark("OCI-M") == 0
    assert sorted(p.name for p in cache.glob("synth-*")) == ["synth-casia", "synth-msu", "synth-oulu", "synth-replay"]

    assert benchmark("OCIM-S") == 0
    assert "[1/1] erm on OCIM-S seed 0: HTER" in capsys.readouterr().err
    assert (cache / "synth-siw" / "manifest.json").is_file()
    records = load_run_records("synthetic-tiny")
    assert sorted(records["protocol"]) == ["OCI-M", "OCIM-S"]
    assert records["target_test.video.hter.dev_eer"].between(0, 1).all()
    board = (workdir / "boards" / "synthetic-tiny.md").read_text()
    four, five = board.split("## Leave-one-out-5 protocols")
    assert "O&C&I→M" in four and "O&C&I&M→S" not in four
    assert "O&C&I&M→S" in five and "| erm |" in five
