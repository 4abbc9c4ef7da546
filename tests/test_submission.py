"""``dgfas submit``: score files made outside dgfas, checked against the protocol's data, on the leaderboard."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dgfas.cli import main


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def submit_scores(folder: Path, cache: Path, name: str = "outside") -> int:
    return main(["submit", "--name", name, "--scores", str(folder), "--preset", "tiny", "--cache", str(cache),
                 "--no-progress"])


def valid_submission(folder: Path, cache: Path) -> Path:
    """Random scores for exactly the frames a tiny C-I run is scored on, as a run would write them."""
    from dgfas.data.registry import DataOptions
    from dgfas.presets import get_preset
    from dgfas.protocols import get_protocol
    from dgfas.data.protocol_frames import load_evaluation_frames, preset_data_options
    from dgfas.evaluation import score_table, write_score_files

    options = preset_data_options(get_preset("tiny"), DataOptions(cache_dir=cache, progress=False))
    source_val, target_test = load_evaluation_frames(get_protocol("C-I"), "synthetic", options)
    rng = np.random.default_rng(0)
    tables = {f"{role}.frame": score_table(frames, rng.random(len(frames)))
              for role, frames in (("source_val", source_val), ("target_test", target_test))}
    write_score_files(tables, folder / "C-I")
    return folder


@pytest.mark.slow
def test_a_runs_own_score_folder_submitted_under_another_name_gets_its_metrics(workdir, tiny_cache, capsys):
    from mlflow import MlflowClient

    from dgfas.tracking.leaderboard import write_leaderboard
    from dgfas.tracking.stored_runs import load_run_records

    assert main(["train", "--protocol", "C-I", "--method", "erm", "--preset", "tiny", "--no-progress",
                 "--cache", str(tiny_cache), "--runs-dir", str(workdir / "runs")]) == 0
    (run_folder,) = (workdir / "runs" / "synthetic-tiny").iterdir()
    shutil.copytree(run_folder, workdir / "submission" / "C-I")
    capsys.readouterr()

    assert submit_scores(workdir / "submission", tiny_cache) == 0
    assert "outside on C-I: HTER" in capsys.readouterr().out
    records = load_run_records("synthetic-tiny").set_index("method")
    assert sorted(records.index) == ["erm", "outside"]
    target = [name for name in records.columns if name.startswith(("target_test.", "source_val."))]
    assert len(target) > 40
    pd.testing.assert_series_equal(records.loc["outside", target], records.loc["erm", target], check_names=False)

    run = MlflowClient().get_run(records.loc["outside", "run_id"])
    assert run.data.tags["dgfas.submission"] == "true" and run.data.tags["dgfas.seed"] == "submitted"
    artifacts = {a.path for a in MlflowClient().list_artifacts(run.info.run_id)}
    assert {"source_val.frame.csv", "target_test.frame.csv", "target_test.video.csv", "C-I.toml"} <= artifacts
    markdown, _ = write_leaderboard("synthetic-tiny", workdir / "boards")
    assert "| outside |" in markdown.read_text() and "| erm |" in markdown.read_text()


def test_a_submission_with_problems_lists_every_one_and_logs_nothing(workdir, tiny_cache, capsys):
    folder = valid_submission(workdir / "submission", tiny_cache)
    target = pd.read_csv(folder / "C-I" / "target_test.frame.csv", dtype=str)
    target.loc[2, "score"] = "nan"
    target.loc[3, "label"] = {"0": "1", "1": "0"}[target.loc[3, "label"]]
    target.loc[4, "domain"] = "synth-casia"
    target.loc[5, "subject"] = str(int(target.loc[5, "subject"]) + 1000)
    missing_video = target["video_id"].iloc[-1]
    target = pd.concat([target[target["video_id"] != missing_video], target.iloc[[7]]])  # one video gone, one row twice
    target.loc[len(target) + 1] = ["synth-replay/nobody", "0", "1", "0.5", "none", "synth-replay", "0"]
    target.to_csv(folder / "C-I" / "target_test.frame.csv", index=False)
    source_val = pd.read_csv(folder / "C-I" / "source_val.frame.csv", dtype=str)
    source_val.loc[1, "score"] = "inf"
    source_val.loc[5, "frame"] = "1.5"
    source_val.drop(index=9).to_csv(folder / "C-I" / "source_val.frame.csv", index=False)
    (folder / "C-X").mkdir()
    (folder / "C-I" / "target_test.frames.csv").write_text("video_id,frame,label,score\n")
    (folder / "C-I" / "maps.npz").write_bytes(b"not read")

    assert submit_scores(folder, tiny_cache) == 2
    lines = capsys.readouterr().err.splitlines()
    target_file, val_file = folder / "C-I" / "target_test.frame.csv", folder / "C-I" / "source_val.frame.csv"
    expected = [
        f"{target_file}: column 'score' is empty, not a number, NaN or infinite at line 4 ('nan')",
        f"{target_file}: (video, frame) given more than once at line 9 (video",
        f"{target_file}: 1 row(s) not in C-I's target test set: line ",
        f"{target_file}: 1 video(s) of C-I's target test set missing: {missing_video!r}",
        f"{target_file}: column 'label' differs from the dataset's at line 5 (video",
        f"{target_file}: column 'domain' differs from the dataset's at line 6 (video",
        f"{target_file}: column 'subject' differs from the dataset's at line 7 (video",
        f"{val_file}: column 'frame' is not a whole number at line 7 ('1.5')",
        f"{val_file}: column 'score' is empty, not a number, NaN or infinite at line 3 ('inf')",
        f"{val_file}: 2 frame(s) of C-I's source validation set missing: (video",
        f"{folder / 'C-X'}: not a protocol folder",
        f"{folder / 'C-I' / 'target_test.frames.csv'}: not a score file name",
    ]
    assert len(lines) == len(expected) + 1, lines
    for start in expected:
        assert sum(line.startswith(start) for line in lines) == 1, (start, lines)
    assert lines[-1] == f"dgfas: error: {folder}: submission rejected with {len(expected)} problem(s); nothing was logged"
    assert not (workdir / "mlflow.db").exists()


@pytest.mark.parametrize("name, problem", [("erm", "is a registered method"), ("my method", "use letters, digits")])
def test_a_name_that_would_mix_with_dgfas_rows_is_refused(workdir, capsys, name, problem):
    assert submit_scores(workdir, workdir / "cache", name=name) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and problem in err
