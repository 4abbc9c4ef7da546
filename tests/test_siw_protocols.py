"""SiW's own protocols (SiW-P1..P3): the frame windows of the file format, the selection on a fixture tree
of the real layout against the paper's definitions written out here, the synthetic stand-in, and a run."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dgfas.cli import main
from dgfas.data.corpora import index_corpus
from dgfas.data.corpora.datasets import DEV_HOLDOUT_EVERY
from dgfas.data.intra import index_selection, load_role_frames, select_roles, video_frame_numbers
from dgfas.data.registry import VIDEO_TABLES, DataOptions
from dgfas.errors import DgfasError
from dgfas.protocols import expand_folds, get_protocol, load_protocol_file, protocol_names

SIW_INTRA = protocol_names("intra", target="S")

#: Seven train subjects (every fifth in id order, 1 and 6, become dev) and two test subjects.
TRAIN_SUBJECTS, TEST_SUBJECTS = tuple(range(1, 8)), (91, 92)
#: (type, medium) of each subject's videos as SiW names them: two live (sensor 1 and 2, medium 1),
#: printers 1-2, replay devices 1-4.
VIDEOS = [(1, 1), (1, 1), (2, 1), (2, 2), (3, 1), (3, 2), (3, 3), (3, 4)]

ALL_FOLDS = [(name, fold) for name in SIW_INTRA for fold in
             ([None] if not get_protocol(name).folds else range(1, len(get_protocol(name).folds) + 1))]


def paper_keeps(name: str, fold: int | None, role: str, kind: int, medium: int) -> bool:
    """Liu, Jourabloo and Liu (CVPR 2018), SiW's protocols, written out independently of protocols/SiW-P*.toml:
    P1 every video, P2 live and the replays of the devices other than ``fold`` (train, dev) or of ``fold``
    (test), P3 live and prints then replays (fold 1) or the other way round (fold 2)."""
    if kind == 1 or name == "SiW-P1":
        return True
    if name == "SiW-P2":
        return kind == 3 and (medium == fold) == (role == "test")
    return (kind == 2) == ((fold == 1) != (role == "test"))


def make_siw_tree(root: Path) -> Path:
    """Every video kind and medium of each subject, as empty files (indexing reads names only)."""
    for folder, subjects in (("Train", TRAIN_SUBJECTS), ("Test", TEST_SUBJECTS)):
        for subject, (sensor, (kind, medium)) in itertools.product(subjects, enumerate(VIDEOS)):
            label = "live" if kind == 1 else "spoof"
            path = root / folder / label / f"{subject:03d}" / f"{subject:03d}-{sensor % 2 + 1}-{kind}-{medium}-1.mov"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    return root


@pytest.fixture
def siw_tree(tmp_path: Path) -> Path:
    return make_siw_tree(tmp_path / "SiW")


def _one_line(error: pytest.ExceptionInfo, *parts: str) -> None:
    text = str(error.value)
    assert "\n" not in text, text
    for part in parts:
        assert part in text, text


# ---- the files


def test_the_siw_protocols_have_the_papers_folds_and_windows():
    assert [len(get_protocol(name).folds) for name in SIW_INTRA] == [0, 4, 2]
    assert expand_folds("SiW-P2") == [f"SiW-P2@{k}" for k in range(1, 5)]
    p1 = get_protocol("SiW-P1")
    assert (p1.target, p1.frames.first("train"), p1.frames.first("dev"), p1.frames.first("test")) == ("S", 60, 60, 0)
    assert p1.as_params()["protocol.frames_train_first"] == "60"
    assert get_protocol("SiW-P3@1").frames.first("train") == 0
    assert "protocol.frames_train_first" not in get_protocol("OULU-P1").as_params()  # OULU runs keep their keys
    assert all(get_protocol(name).target == "S" and get_protocol(name).kind == "intra" for name in SIW_INTRA)


def test_dgfas_list_shows_the_siw_protocols(capsys):
    assert main(["list"]) == 0
    protocols = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("protocols:"))
    assert {"SiW-P1", "SiW-P2", "SiW-P3"} <= set(protocols.removeprefix("protocols: ").split(", "))


def test_the_reported_rows_are_keyed_by_these_protocols():
    from dgfas.tracking.intra import read_reported_intra

    reported = read_reported_intra()
    assert set(SIW_INTRA) <= set(reported["protocol"])
    assert all(get_protocol(name).name == name for name in set(reported["protocol"]))


WINDOWED = """
name = "w"
kind = "intra"
domain = "S"
[roles.train]
split = "train"
[roles.dev]
split = "dev"
[roles.test]
split = "test"
[frames]
train_first = 60
"""


@pytest.mark.parametrize("value, message", [
    ("-1", "frames.train_first must be a whole number >= 0, got -1"),
    ("1.5", "frames.train_first must be a whole number >= 0, got 1.5"),
    ("true", "frames.train_first must be a whole number >= 0, got True"),
    ('"60"', "frames.train_first must be a whole number >= 0, got '60'"),
])
def test_a_bad_frame_window_is_a_one_line_error(tmp_path: Path, value: str, message: str):
    path = tmp_path / "w.toml"
    path.write_text(WINDOWED.replace("train_first = 60", f"train_first = {value}"))
    with pytest.raises(DgfasError) as error:
        load_protocol_file(path)
    _one_line(error, str(path), message)


def test_windows_are_for_intra_protocols_only(tmp_path: Path):
    """The cross-domain frames are read by split, not by role: a window there would be ignored, so it is refused."""
    path = tmp_path / "x.toml"
    path.write_text(get_protocol("OCIM-S").path.read_text() + "train_first = 60\n")
    with pytest.raises(DgfasError) as error:
        load_protocol_file(path)
    _one_line(error, str(path), "unknown key(s) ['train_first'] in [frames] of a non-intra protocol")
    path.write_text(WINDOWED.replace("train_first", "test_first"))
    with pytest.raises(DgfasError) as error:
        load_protocol_file(path)
    _one_line(error, str(path), "unknown key(s) ['test_first'] in [frames]; valid: ['dev_first', 'eval', 'train'")


# ---- the real layout


@pytest.mark.parametrize("name, fold", ALL_FOLDS)
def test_the_selection_on_a_fixture_tree_is_the_papers(siw_tree: Path, name: str, fold: int | None):
    selected = index_selection(index_corpus("siw", siw_tree), name, fold)
    dev_subjects = set(TRAIN_SUBJECTS[::DEV_HOLDOUT_EVERY])
    subjects = {"train": set(TRAIN_SUBJECTS) - dev_subjects, "dev": dev_subjects, "test": set(TEST_SUBJECTS)}
    for role in ("train", "dev", "test"):
        rows = selected[selected["role"] == role]
        expected = {(subject, kind, medium) for subject in subjects[role] for kind, medium in VIDEOS
                    if paper_keeps(name, fold, role, kind, medium)}
        assert set(zip(rows["subject"], rows["type"], rows["medium"])) == expected, role
        assert set(rows["label"]) == {"live", "spoof"}
        assert (rows["relative_path"].str.startswith("Test/") == (role == "test")).all()  # test is never tuned on
    assert set(selected["fold"]) == {"" if fold is None else str(fold)}


def test_data_index_cli_writes_a_siw_fold(siw_tree: Path, tmp_path: Path):
    out = tmp_path / "p2.csv"
    assert main(["data", "index", "siw", str(siw_tree), "--protocol", "SiW-P2", "--fold", "1", "--out", str(out)]) == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns[-2:]) == ["role", "fold"] and set(table["fold"]) == {1}
    spoofs = table[table["label"] == "spoof"]
    assert set(spoofs["attack_type"]) == {"replay"}
    assert spoofs.groupby("role")["attack_device"].unique().map(sorted).to_dict() == {
        "dev": [2, 3, 4], "test": [1], "train": [2, 3, 4]}
    assert main(["data", "index", "siw", str(siw_tree), "--protocol", "SiW-P3", "--out", str(out)]) == 0
    assert sorted(pd.read_csv(out)["fold"].unique()) == [1, 2]


def test_a_siw_protocol_asked_of_another_corpus_or_fold(siw_tree: Path, tmp_path: Path):
    with pytest.raises(DgfasError) as error:
        index_selection(index_corpus("siw", siw_tree), "SiW-P2", 5)
    _one_line(error, "protocols/SiW-P2.toml", "protocol SiW-P2 has folds 1-4, not 5")
    oulu = tmp_path / "OULU"
    (oulu / "Train_files").mkdir(parents=True)
    for folder in ("Dev_files", "Test_files"):
        (oulu / folder).mkdir()
    (oulu / "Train_files" / "1_1_01_1.avi").touch()
    with pytest.raises(DgfasError) as error:
        index_selection(index_corpus("oulu", oulu), "SiW-P1", None)
    _one_line(error, "protocol SiW-P1", "is not an intra protocol of oulu (its domain S is siw)")


# ---- the synthetic stand-in


def _synthetic_options(cache: Path) -> DataOptions:
    return DataOptions(cache, scale="tiny", image_size=32, workers=1, progress=False)


@pytest.mark.parametrize("name, fold", ALL_FOLDS)
def test_the_synthetic_plan_selects_live_and_spoof_in_subject_disjoint_roles(name: str, fold: int | None):
    table = VIDEO_TABLES.get("synth-siw")(_synthetic_options(Path("unused")))
    roles = select_roles(get_protocol(name, fold), table, "synth-siw")
    for role, rows in roles.items():
        assert set(rows["label"]) == {"live", "spoof"} and set(rows["split"]) == {role}
    for first, second in itertools.combinations(roles.values(), 2):
        assert not set(first["subject"]) & set(second["subject"])
    spoofs = {role: rows[rows["label"] == "spoof"] for role, rows in roles.items()}
    if name == "SiW-P2":
        assert all(set(rows["attack_type"]) == {"replay"} for rows in spoofs.values())
        assert set(spoofs["test"]["attack_device"]) == {fold}
        assert set(spoofs["train"]["attack_device"]) == set(spoofs["dev"]["attack_device"]) == {1, 2, 3, 4} - {fold}
    if name == "SiW-P3":
        trained, tested = ("print", "replay") if fold == 1 else ("replay", "print")
        assert set(spoofs["train"]["attack_type"]) == set(spoofs["dev"]["attack_type"]) == {trained}
        assert set(spoofs["test"]["attack_type"]) == {tested}
        assert spoofs["test"]["attack_device"].nunique() == (4 if tested == "replay" else 2)


def test_video_frame_numbers_count_camera_frames_on_synthetic_videos(frames_factory):
    frames = frames_factory("synth-siw", "train", videos=2, frames_per_video=4)
    ids = sorted(set(frames.video_id))
    assert video_frame_numbers(frames, pd.DataFrame({"video_id": ids})).tolist() == [0, 1, 2, 3] * 2
    steps = pd.DataFrame({"video_id": ids, "frame_step": [3, 1]})
    assert video_frame_numbers(frames, steps).tolist() == [0, 3, 6, 9, 0, 1, 2, 3]


def test_p1_trains_and_tunes_on_the_first_frames_only(tiny_cache: Path, tmp_path: Path):
    """On the synthetic stand-in a video stores every third camera frame: SiW-P1's 60-frame window holds all
    of a tiny video (4 stored frames, camera frames 0-9); a 6-frame window keeps its stored frames 0 and 1."""
    options = _synthetic_options(tiny_cache)
    p1 = load_role_frames(get_protocol("SiW-P1"), "synthetic", options)
    assert all(sorted(set(p1[role].frame)) == [0, 1, 2, 3] for role in ("train", "dev", "test"))
    path = tmp_path / "p1-short.toml"
    path.write_text(get_protocol("SiW-P1").path.read_text().replace('name = "SiW-P1"', 'name = "p1-short"')
                    .replace("train_first = 60", "train_first = 6").replace("dev_first = 60", "dev_first = 7"))
    short = load_role_frames(get_protocol(str(path)), "synthetic", options)
    assert sorted(set(short["train"].frame)) == [0, 1]  # camera frames 0 and 3
    assert sorted(set(short["dev"].frame)) == [0, 1, 2]  # camera frames 0, 3 and 6
    assert sorted(set(short["test"].frame)) == [0, 1, 2, 3]  # every frame of every test video
    for role in ("train", "dev", "test"):  # no video is lost to the window
        assert set(short[role].video_id) == set(p1[role].video_id)
        assert set(np.unique(short[role].label)) == {0, 1}


@pytest.mark.slow
def test_train_a_siw_p2_fold_on_the_synthetic_stand_in(tmp_path: Path, monkeypatch, tiny_cache, capsys):
    import json

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    argv = ["train", "--protocol", "SiW-P2@1", "--method", "erm", "--preset", "tiny", "--cache", str(tiny_cache),
            "--runs-dir", "runs", "--no-progress", "--workers", "1"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "finished"
    scores = pd.read_csv(next(Path("runs").rglob("target_test.video.csv")))
    # the test subjects' live videos and their replays of device 1: one each per subject
    assert sorted(scores["attack_type"].value_counts().to_dict().items()) == [("none", 6), ("replay", 6)]
