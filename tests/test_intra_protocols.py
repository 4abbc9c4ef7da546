"""Intra-dataset protocols (OULU-NPU 1-4): the file format, the selection on a fixture tree of the real
layout against official lists made from the corpus's own rules, the synthetic stand-in, and bad input."""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dgfas.cli import main
from dgfas.data.corpora import index_corpus
from dgfas.data.corpora.oulu import oulu_protocol_videos
from dgfas.data.intra import index_selection, select_roles
from dgfas.errors import DgfasError
from dgfas.protocols import expand_folds, get_protocol, load_protocol_file, protocol_names

OULU_INTRA = protocol_names("intra", target="O")

#: Two users per split, as the corpus numbers them (train 1-20, dev 21-35, test 36-55).
USERS = {"Train": (1, 2), "Dev": (21, 22), "Test": (36, 37)}
LABEL_OF_FILE = {1: "+1", 2: "-1", 3: "-1", 4: "-2", 5: "-2"}


def official_keeps(protocol: int, fold: int | None, split: str, phone: int, session: int, file: int) -> bool:
    """Boulkenafet et al. (FG 2017), Table 2, written out independently of protocols/OULU-P*.toml:
    P1 unseen session, P2 unseen printer and display, P3 phone ``fold`` held out, P4 all three."""
    test = split == "Test"
    sessions_ok = session == 3 if test else session in (1, 2)
    files_ok = file in ((1, 3, 5) if test else (1, 2, 4))
    phones_ok = phone == fold if test else phone != fold
    return {1: sessions_ok, 2: files_ok, 3: phones_ok, 4: sessions_ok and files_ok and phones_ok}[protocol]


def make_oulu_tree(root: Path, lists: bool = True) -> Path:
    """Every phone, session and file of two users per split (empty .avi files: indexing reads names only),
    and, with ``lists``, the shipped ``Protocols/`` lists made from :func:`official_keeps`."""
    for split, users in USERS.items():
        for user, phone, session, file in itertools.product(users, range(1, 7), range(1, 4), range(1, 6)):
            path = root / f"{split}_files" / f"{phone}_{session}_{user:02d}_{file}.avi"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    if lists:
        for protocol, fold in [(1, None), (2, None), *((p, k) for p in (3, 4) for k in range(1, 7))]:
            for split, users in USERS.items():
                lines = [f"{LABEL_OF_FILE[file]},{phone}_{session}_{user:02d}_{file}"
                         for user, phone, session, file in itertools.product(users, range(1, 7), range(1, 4), range(1, 6))
                         if official_keeps(protocol, fold, split, phone, session, file)]
                name = f"{split}.txt" if fold is None else f"{split}_{fold}.txt"
                path = root / "Protocols" / f"Protocol_{protocol}" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def oulu_tree(tmp_path: Path) -> Path:
    return make_oulu_tree(tmp_path / "OULU-NPU")


ALL_FOLDS = [(name, fold) for name in OULU_INTRA for fold in
             ([None] if not get_protocol(name).folds else range(1, len(get_protocol(name).folds) + 1))]


def test_the_oulu_protocols_have_the_papers_folds():
    assert [len(get_protocol(name).folds) for name in OULU_INTRA] == [0, 0, 6, 6]
    assert expand_folds("OULU-P3") == [f"OULU-P3@{k}" for k in range(1, 7)]
    assert expand_folds("OULU-P3@2") == ["OULU-P3@2"] and expand_folds("OULU-P1") == ["OULU-P1"]


@pytest.mark.parametrize("name, fold", ALL_FOLDS)
def test_file_defined_selection_equals_the_official_lists(oulu_tree: Path, name: str, fold: int | None):
    index = index_corpus("oulu", oulu_tree)
    selected = index_selection(index, name, fold)  # checks against the lists itself; compared here once more
    number = int(name.removeprefix("OULU-P"))
    for role, split in (("train", "train"), ("dev", "dev"), ("test", "test")):
        listed = oulu_protocol_videos(oulu_tree, number, fold, split)
        assert sorted(selected.loc[selected["role"] == role, "relative_path"]) == sorted(listed)
        assert len(listed) > 0
    assert set(selected["fold"]) == {"" if fold is None else str(fold)}


@pytest.mark.parametrize("name, fold", ALL_FOLDS)
def test_a_copy_without_protocol_lists_selects_the_same_videos(oulu_tree: Path, tmp_path: Path, name, fold):
    copy = shutil.copytree(oulu_tree, tmp_path / "copy")
    shutil.rmtree(copy / "Protocols")
    with_lists = index_selection(index_corpus("oulu", oulu_tree), name, fold)
    without = index_selection(index_corpus("oulu", copy), name, fold)
    pd.testing.assert_frame_equal(with_lists, without)


def test_paper_counts_per_user_on_the_fixture(oulu_tree: Path):
    """Videos per user as the protocols define them: 90 in all (6 phones x 3 sessions x 5 files)."""
    index = index_corpus("oulu", oulu_tree)
    per_user = {name: index_selection(index, name, 1 if get_protocol(name).folds else None)
                .groupby("role").size().to_dict() for name in OULU_INTRA}
    users = 2
    assert per_user["OULU-P1"] == {"train": 60 * users, "dev": 60 * users, "test": 30 * users}
    assert per_user["OULU-P2"] == {"train": 54 * users, "dev": 54 * users, "test": 54 * users}
    assert per_user["OULU-P3"] == {"train": 75 * users, "dev": 75 * users, "test": 15 * users}
    assert per_user["OULU-P4"] == {"train": 30 * users, "dev": 30 * users, "test": 3 * users}


def test_index_rows_carry_phone_session_and_instrument(oulu_tree: Path):
    table = index_corpus("oulu", oulu_tree).table().set_index("relative_path")
    row = table.loc["Dev_files/4_3_21_5.avi"]
    assert (row["phone"], row["session"], row["subject"], row["instrument"]) == (4, 3, 21, "replay2")
    assert dict(zip(table["file"], table["instrument"])) == {
        1: "live", 2: "print1", 3: "print2", 4: "replay1", 5: "replay2"}


def test_data_index_cli_writes_role_and_fold(oulu_tree: Path, tmp_path: Path, capsys):
    out = tmp_path / "p4.csv"
    assert main(["data", "index", "oulu", str(oulu_tree), "--protocol", "OULU-P4", "--fold", "2",
                 "--out", str(out)]) == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns[:5]) == ["relative_path", "split", "label", "attack_type", "subject"]
    assert list(table.columns[-2:]) == ["role", "fold"] and set(table["fold"]) == {2}
    assert set(table.loc[table["role"] == "test", "phone"]) == {2}
    assert set(table.loc[table["role"] == "test", "instrument"]) == {"live", "print2", "replay2"}
    # without --fold a fold protocol writes every fold; without folds the fold column is empty
    assert main(["data", "index", "oulu", str(oulu_tree), "--protocol", "OULU-P3", "--out", str(out)]) == 0
    assert sorted(pd.read_csv(out)["fold"].unique()) == [1, 2, 3, 4, 5, 6]
    assert main(["data", "index", "oulu", str(oulu_tree), "--protocol", "OULU-P1"]) == 0
    printed = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out), keep_default_na=False)
    assert set(printed["fold"]) == {""} and set(printed["role"]) == {"train", "dev", "test"}


# ---- bad input: one line, naming the protocol, its fold and the file


def _one_line(error: pytest.ExceptionInfo, *parts: str) -> None:
    text = str(error.value)
    assert "\n" not in text, text
    for part in parts:
        assert part in text, text


def test_a_listed_video_missing_on_disk(oulu_tree: Path):
    (oulu_tree / "Test_files" / "3_1_36_1.avi").unlink()
    with pytest.raises(DgfasError) as error:
        index_selection(index_corpus("oulu", oulu_tree), "OULU-P3", 3)
    _one_line(error, "OULU-P3 fold 3", "Protocol_3/Test_3.txt", "not found", "Test_files/3_1_36_1.avi")


def test_a_list_that_disagrees_with_the_file_defined_selection(oulu_tree: Path):
    listed = oulu_tree / "Protocols" / "Protocol_1" / "Dev.txt"
    listed.write_text("\n".join(line for line in listed.read_text().splitlines() if line != "+1,1_1_21_1") + "\n")
    with pytest.raises(DgfasError) as error:
        index_selection(index_corpus("oulu", oulu_tree), "OULU-P1", None)
    _one_line(error, "protocol OULU-P1 (", "Protocol_1/Dev.txt", "1 selected video(s) not listed (Dev_files/1_1_21_1.avi)")


@pytest.mark.parametrize("name, fold, message", [
    ("OULU-P1", 2, "protocol OULU-P1 has no folds (asked for fold 2)"),
    ("OULU-P3", 7, "protocol OULU-P3 has folds 1-6, not 7"),
    ("OULU-P4@0", None, "protocol OULU-P4 has folds 1-6, not 0"),
])
def test_a_fold_the_protocol_does_not_have(name: str, fold: int | None, message: str):
    with pytest.raises(DgfasError) as error:
        get_protocol(name, fold)
    _one_line(error, message, f"protocols/{name.partition('@')[0]}.toml")


def test_a_fold_protocol_without_its_fold_and_the_wrong_corpus(oulu_tree: Path, capsys):
    index = index_corpus("oulu", oulu_tree)
    with pytest.raises(DgfasError) as error:
        select_roles(get_protocol("OULU-P3"), index.table().assign(video_id=index.table()["relative_path"]), "oulu")
    _one_line(error, "protocol OULU-P3", "has folds 1-6; name one, e.g. OULU-P3@1")
    with pytest.raises(DgfasError) as error:
        index_selection(index, "ICM-O", None)
    _one_line(error, "protocol ICM-O", "is not an intra protocol of oulu")
    assert main(["data", "index", "oulu", str(oulu_tree), "--fold", "2"]) == 2
    assert capsys.readouterr().err == "dgfas: error: --fold needs --protocol\n"


INTRA = """
name = "q"
kind = "intra"
domain = "O"
[roles.train]
split = "train"
session = [1, 2]
[roles.dev]
split = "dev"
[roles.test]
split = "test"
session = 3
[[folds]]
test = { phone = [1] }
"""


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace('domain = "O"', 'domain = "Q"'), "unknown domain 'Q'"),
    (lambda t: t.replace('[roles.dev]\nsplit = "dev"\n', ""), r"missing key\(s\) \['dev'\] in \[roles\]"),
    (lambda t: t.replace('split = "test"', 'phone = 2'), r"roles.test must name its split\(s\)"),
    (lambda t: t.replace('split = "test"', 'split = "val"'), "roles.test.split must name splits"),
    (lambda t: t.replace("session = 3", "session = 3.5"), "roles.test.session must be text, a whole number"),
    (lambda t: t.replace("session = [1, 2]", "session = [1, 1]"), "roles.train.session repeats a value"),
    (lambda t: t.replace("phone = [1]", "session = [1]"), r"fold 1 sets \['session'\] of test, already set"),
    (lambda t: t.replace("test = { phone", "val = { phone"), r"unknown key\(s\) \['val'\] in fold 1"),
    (lambda t: 'sources = ["O"]\n' + t, r"unknown key\(s\) \['sources'\] in an intra protocol"),
    (lambda t: "official = 0\n" + t, "official must be the corpus's own protocol number"),
])
def test_bad_intra_protocol_files(tmp_path: Path, edit, message):
    path = tmp_path / "q.toml"
    path.write_text(edit(INTRA))
    with pytest.raises(DgfasError, match=message) as error:
        load_protocol_file(path)
    _one_line(error, str(path))


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("session = 3", 'light = "dim"'), "test selects by 'light', which dataset oulu does not record"),
    (lambda t: t.replace("session = 3", 'instrument = "print_1"'), "test selects instrument ['print_1'], which no video"),
    (lambda t: t.replace("session = 3", 'instrument = "live"'), "test selects 6 video(s) of dataset oulu with labels ['live']"),
    (lambda t: t.replace('split = "dev"', 'split = "train"'), "video(s) in both train and dev"),
])
def test_selections_the_data_cannot_satisfy(oulu_tree: Path, tmp_path: Path, edit, message):
    path = tmp_path / "q.toml"
    path.write_text(edit(INTRA))
    with pytest.raises(DgfasError) as error:
        index_selection(index_corpus("oulu", oulu_tree), f"{path}@1", None)
    _one_line(error, "protocol q fold 1", str(path), message)


# ---- the synthetic stand-in


def test_the_synthetic_stand_in_splits_users_like_oulu_and_films_every_condition():
    table = _stand_in_table()
    assert table.groupby("split")["subject"].nunique().to_dict() == {"train": 20, "dev": 15, "test": 20}
    # each subject group: one live video and one per instrument, all in one phone and session
    assert sorted(table["instrument"].value_counts().to_dict().items()) == [
        ("live", 55), ("print1", 55), ("print2", 55), ("replay1", 55), ("replay2", 55)]
    assert (table.groupby("subject")[["phone", "session"]].nunique() == 1).all().all()
    for split in ("train", "test"):  # 20 groups each at tiny: every one of the 18 conditions
        rows = table[table["split"] == split]
        assert len(set(zip(rows["phone"], rows["session"]))) == 18
    for name, fold in ALL_FOLDS:
        roles = select_roles(get_protocol(name, fold), table, "synth-oulu-intra")
        assert all({"live", "spoof"} == set(rows["label"]) for rows in roles.values())


def test_fixing_a_videos_camera_and_session_changes_only_them():
    """The cross-domain stand-in's pixels are unchanged: a drawn (camera, session) and the same pair fixed
    give the same video, and any other pair another one."""
    from dgfas.data.synthetic.domains import OULU
    from dgfas.data.synthetic.shoot import Video, shoot_video

    drawn = Video("synth-oulu", subject=3, index=1, split="train", attack=0, frames=1, size=24, seed=0)
    images = shoot_video(drawn)["images"]
    same = [(c, s) for c in range(len(OULU.cameras)) for s in range(len(OULU.sessions))
            if np.array_equal(shoot_video(Video(**{**drawn.__dict__, "camera": c, "session": s}))["images"], images)]
    assert len(same) == 1


@pytest.mark.slow
def test_benchmark_runs_oulu_p1_on_the_synthetic_stand_in(tmp_path: Path, monkeypatch, tiny_cache, capsys):
    from dgfas.tracking.stored_runs import load_run_records

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    argv = ["benchmark", "--preset", "tiny", "--protocols", "OULU-P1", "--methods", "erm", "--no-progress",
            "--cache", str(tiny_cache), "--runs-dir", str(tmp_path / "runs"),
            "--leaderboard-dir", str(tmp_path / "boards")]
    assert main(argv) == 0
    assert "[1/1] erm on OULU-P1 seed 0: HTER" in capsys.readouterr().err
    records = load_run_records("synthetic-tiny")
    (record,) = records.to_dict("records")
    assert record["protocol"] == "OULU-P1"
    from mlflow import MlflowClient

    params = MlflowClient().get_run(record["run_id"]).data.params
    assert (params["protocol.test"], params["protocol.fold"]) == ("session=3;split=test", "")
    assert 0 <= record["target_test.video.hter.dev_eer"] <= 1
    scores = pd.read_csv(next((tmp_path / "runs" / "synthetic-tiny").glob("*/target_test.video.csv")))
    assert len(scores) == 30  # 20 test users' groups at tiny, 6 of them filmed in session 3: 6 x 5 videos
    board = (tmp_path / "boards" / "synthetic-tiny-intra.md").read_text()  # intra runs get a board of their own
    assert "## Intra protocols" in board and "ISO/IEC 30107-3 rates at the `dev_eer` threshold" in board
    acer = 100 * record["target_test.video.acer.dev_eer"]
    assert "| OULU-NPU P1 | erm | – | 1 | " in board and f" {acer:.1f} |\n" in board
    # the papers' rows of the protocols run, and only those, marked as reported
    reported = board.split("### Reported in papers (real corpus")[1]
    assert "| OULU-NPU P1 | BASN | 1.5 | 5.8 | 3.6 | BASN (Kim et al., ICCVW 2019), Table 2" in reported
    assert "| OULU-NPU P1 | BASN Model A (depth) | 1.0 | 14.2 | 7.6 |" in reported and "OULU-P2" not in reported
    assert "SiW" not in reported  # SiW's rows wait for runs of SiW protocols


# ---- intra metrics as the papers print them


def test_intra_summary_means_seeds_per_fold_then_mean_and_std_over_folds():
    from dgfas.tracking.intra import intra_lines, intra_summary

    rows = [{"method": "erm", "protocol": f"OULU-P3@{fold}", "seed": seed,
             "target_test.video.apcer.dev_eer": apcer + 0.02 * seed, "target_test.video.bpcer.dev_eer": 0.05,
             "target_test.video.acer.dev_eer": (apcer + 0.02 * seed + 0.05) / 2}
            for fold, apcer in zip(range(1, 7), (0.1, 0.2, 0.3, 0.1, 0.2, 0.3)) for seed in (0, 1)]
    rows += [{"method": "erm", "protocol": name, "seed": 0, "target_test.video.apcer.dev_eer": 0.02,
              "target_test.video.bpcer.dev_eer": 0.04, "target_test.video.acer.dev_eer": 0.03}
             for name in ("OULU-P1", "ICM-O")]
    records = pd.DataFrame(rows)
    kinds = {name: "leave-one-out" if name == "ICM-O" else "intra" for name in records["protocol"]}
    summary = intra_summary(records, kinds).set_index("protocol")
    assert list(summary.index) == ["OULU-P1", "OULU-P3"]  # the cross-domain run is not an intra one
    p3 = summary.loc["OULU-P3"]
    per_fold = np.array([0.11, 0.21, 0.31, 0.11, 0.21, 0.31])  # each fold's mean over its two seeds
    assert (p3["n_folds"], p3["folds_of"], p3["n_seeds"]) == (6, 6, 2)
    assert p3["apcer_mean"] == pytest.approx(per_fold.mean()) and p3["apcer_std"] == pytest.approx(per_fold.std(ddof=1))
    assert np.isnan(summary.loc["OULU-P1", "acer_std"]) and summary.loc["OULU-P1", "acer_mean"] == 0.03
    lines = intra_lines(intra_summary(records, kinds), {"OULU-P3": "OULU-NPU P3"}, "dev_eer")
    assert "| OULU-NPU P3 | erm | 6 of 6 | 2 | 21.0 ± 8.9 | 5.0 ± 0.0 | 13.0 ± 4.5 |" in lines
    assert "| OULU-P1 | erm | – | 1 | 2.0 | 4.0 | 3.0 |" in lines
    assert lines[-2].startswith("| OULU-P1 |") and lines[-1].startswith("| OULU-NPU P3 |")  # by protocol
    # one fold of six run: said so, and no spread
    one_fold = intra_summary(records[records["protocol"] == "OULU-P3@2"], kinds)
    assert "| OULU-P3 | erm | 1 of 6 | 2 | 21.0 | 5.0 | 13.0 |" in intra_lines(one_fold, {}, "dev_eer")


@pytest.mark.slow
def test_train_oulu_p1_on_a_real_layout_tree_with_its_lists(tmp_path: Path, monkeypatch, capsys):
    """The real path: video files indexed, their lists checked, faces prepared, the roles' frames trained on."""
    import json

    from corpus_videos import face_frames

    from dgfas.data.corpora.video import write_video

    users = {"Train": 1, "Dev": 21, "Test": 36}
    root = tmp_path / "OULU-NPU"
    for split, user in users.items():
        for session, file in itertools.product((1, 2, 3), range(1, 6)):  # file 1 live, 2-5 the four attacks
            write_video(root / f"{split}_files/1_{session}_{user:02d}_{file}.avi", face_frames("synth-oulu", user, file - 2))
    for split, user in users.items():
        lines = [f"{LABEL_OF_FILE[file]},1_{session}_{user:02d}_{file}" for session in (1, 2, 3) for file in range(1, 6)
                 if official_keeps(1, None, split, 1, session, file)]
        (root / "Protocols" / "Protocol_1").mkdir(parents=True, exist_ok=True)
        (root / "Protocols" / "Protocol_1" / f"{split}.txt").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    argv = ["train", "--protocol", "OULU-P1", "--method", "erm", "--preset", "tiny", "--data", "real",
            "--root", f"oulu={root}", "--frames-per-video", "3", "--cache", "cache", "--runs-dir", "runs",
            "--no-progress", "--workers", "1"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "finished"
    scores = pd.read_csv(next(Path("runs").rglob("target_test.video.csv")))
    assert len(scores) == 5  # user 36's session-3 videos: live, two prints, two replays
    # a list that names a video the tree lacks stops the run with the list file named
    (root / "Protocols" / "Protocol_1" / "Test.txt").write_text("+1,2_3_36_1\n")
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "protocol OULU-P1" in error and "Protocol_1/Test.txt lists 1 video(s) not found" in error


def test_a_folds_runs_go_stale_with_their_protocol_file():
    from dgfas.tracking.counted_runs import is_current

    records = pd.DataFrame({"method": ["erm", "erm"], "protocol": ["OULU-P3@2", "OULU-P3@2"], "code_hash": ["h", "h"],
                            "protocol_hash": [get_protocol("OULU-P3").content_hash, "0" * 16]})
    assert is_current(records, lambda method, model: "h").tolist() == [True, False]


SIW_INTRA = ["SiW-P1", "SiW-P2", "SiW-P3"]


def test_reported_intra_rows_are_read_as_printed(tmp_path: Path):
    from dgfas.tracking.intra import read_reported_intra

    reported = read_reported_intra()
    assert set(reported["protocol"]) == {*OULU_INTRA, *SIW_INTRA}
    p3 = reported[(reported["protocol"] == "OULU-P3") & (reported["method"] == "BASN")].iloc[0]
    assert (p3["apcer"], p3["bpcer"], p3["acer"]) == ("1.8±1.1", "3.6±3.5", "2.7±1.6")
    assert sorted(read_reported_intra(method="basn").query("protocol == 'OULU-P1'")["method"]) == [
        "BASN", "BASN Model A (depth)", "BASN Model B (reflection)", "BASN Model C (added)", "BASN baseline"]
    assert read_reported_intra(method="erm").empty
    # SiW P3: BASN's Table 3 prints the Auxiliary ACER only, the re-typeset Auxiliary table all three rates;
    # the two sources differ in the last digit of the std, and both are kept as printed
    auxiliary = read_reported_intra(method="auxiliary").query("protocol == 'SiW-P3'")
    assert sorted(zip(auxiliary["apcer"], auxiliary["acer"], auxiliary["source"].str[:9])) == [
        ("8.31±3.81", "8.31±3.81", "Auxiliary"), ("–", "8.31±3.80", "BASN (Kim")]
    bad = tmp_path / "r.csv"
    bad.write_text("method,protocol,hter\n")
    with pytest.raises(DgfasError, match=r"r.csv: columns must be \['method', 'protocol', 'apcer'"):
        read_reported_intra(bad)
    header = "method,protocol,apcer,bpcer,acer,source\nX,OULU-P1,1.0,1.0,1.0,s\n"
    for cell in ("", "n/a", "1.6%", "2.7 ± 1.3"):
        bad.write_text(f"{header}Y,OULU-P2,1.0,{cell},1.0,s\n")
        with pytest.raises(DgfasError, match=rf"r.csv: row 2 \(Y, OULU-P2\): bpcer '{re.escape(cell)}' is not a"):
            read_reported_intra(bad)


def test_reported_intra_rows_show_beside_the_protocols_run_only():
    from dgfas.tracking.intra import read_reported_intra, reported_intra_lines

    reported = read_reported_intra()
    oulu = "\n".join(reported_intra_lines(reported, ["OULU-P1"], {"OULU-P1": "OULU-NPU P1"}))
    assert "| OULU-NPU P1 | Auxiliary | 1.6 | 1.6 | 1.6 | BASN (Kim et al., ICCVW 2019), Table 2" in oulu
    assert "SiW" not in oulu
    siw = reported_intra_lines(reported, SIW_INTRA, {})
    rows = [line for line in siw if line.startswith("| SiW-")]
    assert [line.split(" | ")[0] for line in rows] == ["| SiW-P1"] * 4 + ["| SiW-P2"] * 4 + ["| SiW-P3"] * 4
    assert "| SiW-P1 | BASN | – | – | 0.37 | BASN (Kim et al., ICCVW 2019), Table 3" in "\n".join(siw)
    assert reported_intra_lines(reported, ["ICM-O"], {}) == []


def test_fold_names_and_paths(tmp_path: Path):
    assert get_protocol("OULU-P3@4").run_name == "OULU-P3@4" and get_protocol("OULU-P3", 4).title == "OULU-NPU P3 fold 4"
    with pytest.raises(DgfasError, match="names its fold; do not also give fold 2"):
        get_protocol("OULU-P3@4", 2)
    with pytest.raises(DgfasError, match="unknown protocol 'OULU-P3@x'"):
        get_protocol("OULU-P3@x")
    folder = tmp_path / "a@b"  # an @ in a path is not a fold
    folder.mkdir()
    (folder / "q.toml").write_text(INTRA)
    assert get_protocol(str(folder / "q.toml")).fold is None
    assert get_protocol(f"{folder / 'q.toml'}@1").selection("test").describe() == "phone=1;session=3;split=test"


def test_a_submission_for_a_fold_is_checked_against_that_folds_frames(tmp_path: Path, tiny_cache, monkeypatch,
                                                                      capsys):
    from mlflow import MlflowClient

    from dgfas.data.registry import DataOptions
    from dgfas.presets import get_preset
    from dgfas.tracking.stored_runs import load_run_records
    from dgfas.data.protocol_frames import load_evaluation_frames, preset_data_options
    from dgfas.evaluation import score_table, write_score_files

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    options = preset_data_options(get_preset("tiny"), DataOptions(cache_dir=tiny_cache, progress=False))
    dev, test = load_evaluation_frames(get_protocol("OULU-P3@2"), "synthetic", options)
    assert set(test.video_id.astype(str)) == {  # phone 2, every session and instrument of the test users
        *select_roles(get_protocol("OULU-P3@2"), _stand_in_table(), "synth-oulu-intra")["test"]["video_id"]}
    rng = np.random.default_rng(0)
    write_score_files({f"{role}.frame": score_table(frames, rng.random(len(frames)))
                       for role, frames in (("source_val", dev), ("target_test", test))},
                      tmp_path / "submission" / "OULU-P3@2")
    argv = ["submit", "--name", "outside", "--scores", str(tmp_path / "submission"), "--preset", "tiny",
            "--cache", str(tiny_cache), "--no-progress"]
    assert main(argv) == 0
    (record,) = load_run_records("synthetic-tiny").to_dict("records")
    assert record["protocol"] == "OULU-P3@2"
    assert MlflowClient().get_run(record["run_id"]).data.params["protocol.test"] == "phone=2;split=test"
    # scores of another fold's frames are refused
    shutil.move(tmp_path / "submission" / "OULU-P3@2", tmp_path / "submission" / "OULU-P3@3")
    assert main(argv) != 0
    assert "OULU-P3@3's target test set" in capsys.readouterr().err


def _stand_in_table() -> pd.DataFrame:
    from dgfas.data.registry import VIDEO_TABLES, DataOptions

    return VIDEO_TABLES.get("synth-oulu-intra")(DataOptions(Path("unused"), scale="tiny", image_size=32))


def test_a_corpus_without_dev_split_gets_the_frames_held_out_dev_in_its_video_table(tmp_path: Path):
    from dgfas.data.corpora.datasets import DEV_HOLDOUT_EVERY, corpus_video_table
    from dgfas.data.registry import DataOptions

    for folder, subjects in (("train_release", range(1, 8)), ("test_release", range(1, 3))):
        for subject, stem in itertools.product(subjects, ("1", "3")):
            (tmp_path / "casia" / folder / str(subject)).mkdir(parents=True, exist_ok=True)
            (tmp_path / "casia" / folder / str(subject) / f"{stem}.avi").touch()
    table = corpus_video_table("casia", DataOptions(tmp_path, roots=(("casia", str(tmp_path / "casia")),)))
    dev = sorted(set(table.loc[table["split"] == "dev", "subject"]))
    assert dev == list(range(1, 8))[::DEV_HOLDOUT_EVERY] == [1, 6]
    assert set(table.loc[table["split"] == "test", "subject"]) == {21, 22}  # CASIA numbers test subjects from 21
    assert table["video_id"].str.startswith("casia/train_release/").sum() == 14
