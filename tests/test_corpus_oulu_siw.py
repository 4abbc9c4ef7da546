"""The OULU-NPU and SiW adapters on empty-file trees that mirror the real layouts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dgfas.cli import main
from dgfas.data.corpora import CORPORA, index_corpus
from dgfas.data.corpora.index import INDEX_COLUMNS
from dgfas.data.corpora.oulu import oulu_protocol_videos
from dgfas.errors import DgfasError

OULU_SPLITS = {"Train_files": range(1, 21), "Dev_files": range(21, 36), "Test_files": range(36, 56)}


def touch(root: Path, relative: str, text: str = "") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def oulu_root(tmp_path: Path) -> Path:
    """The full 4950-video OULU-NPU tree, eye-position files for Train, and three strays."""
    root = tmp_path / "OULU-NPU"
    for folder, users in OULU_SPLITS.items():
        (root / folder).mkdir(parents=True)
        for user in users:
            for phone in range(1, 7):
                for session in range(1, 4):
                    for file in range(1, 6):
                        stem = f"{phone}_{session}_{user:02d}_{file}"
                        (root / folder / f"{stem}.avi").touch()
                        if folder == "Train_files":
                            (root / folder / f"{stem}.txt").touch()
    for stray in ("Train_files/readme.doc", "Train_files/7_1_01_1.avi", "Dev_files/1_1_01_1.avi"):
        touch(root, stray)
    touch(root, "Protocols/Protocol_1/Train.txt", "+1,1_1_01_1\n-1,1_2_01_3\n-2,1_3_02_4\n\n")
    touch(root, "Protocols/Protocol_3/Test_2.txt", "+1,2_1_36_1\r\n-2,2_1_55_5\r\n")
    return root


def test_oulu_counts_labels_and_subjects(oulu_root: Path) -> None:
    index = index_corpus("oulu", oulu_root)
    table = index.table()
    assert len(table) == 4950
    assert table["split"].value_counts().to_dict() == {"train": 1800, "dev": 1350, "test": 1800}
    assert table.groupby("split")["subject"].nunique().to_dict() == {"train": 20, "dev": 15, "test": 20}
    assert (table["label"] == "live").sum() * 5 == 4950
    assert table["attack_type"].value_counts().to_dict() == {"print": 1980, "replay": 1980, "none": 990}
    assert set(table["phone"]) == set(range(1, 7)) and set(table["session"]) == {1, 2, 3}
    assert (table["subject"] == table["user"]).all()
    row = table.set_index("relative_path").loc["Test_files/6_3_55_5.avi"]
    assert (row["split"], row["label"], row["attack_type"], row["subject"]) == ("test", "spoof", "replay", 55)
    assert (row["phone"], row["session"], row["file"], row["attack_device"]) == (6, 3, 5, 2)
    assert table.set_index("relative_path").loc["Train_files/1_1_01_3.avi", "attack_device"] == 2
    assert table.set_index("relative_path").loc["Train_files/1_1_01_1.avi", "attack_device"] == 0


def test_oulu_strays_are_reported_not_indexed(oulu_root: Path) -> None:
    index = index_corpus("oulu", oulu_root)
    # eye-position .txt files and protocol lists are part of the corpus: neither indexed nor stray
    assert index.stray == ["Dev_files/1_1_01_1.avi", "Train_files/7_1_01_1.avi", "Train_files/readme.doc"]
    assert not set(index.stray) & {v.relative_path for v in index.videos}


def test_oulu_protocol_lists(oulu_root: Path) -> None:
    assert oulu_protocol_videos(oulu_root, 1, None, "train") == [
        "Train_files/1_1_01_1.avi", "Train_files/1_2_01_3.avi", "Train_files/1_3_02_4.avi"]
    assert oulu_protocol_videos(oulu_root, 3, 2, "test") == ["Test_files/2_1_36_1.avi", "Test_files/2_1_55_5.avi"]
    indexed = {v.relative_path for v in index_corpus("oulu", oulu_root).videos}
    assert set(oulu_protocol_videos(oulu_root, 1, None, "train")) <= indexed


@pytest.mark.parametrize(("protocol", "fold", "split", "message"), [
    (2, None, "train", "protocol list not found"),
    (3, None, "test", "needs a fold"),
    (1, 1, "train", "has no folds"),
    (5, None, "train", "must be 1, 2, 3 or 4"),
    (1, None, "val", "split must be one of"),
])
def test_oulu_protocol_errors(oulu_root: Path, protocol: int, fold: int | None, split: str, message: str) -> None:
    with pytest.raises(DgfasError, match=message) as error:
        oulu_protocol_videos(oulu_root, protocol, fold, split)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("line", ["-1,1_1_01_1", "+1,1_1_21_1", "1_1_01_1", "+1,1_1_01_1.avi"])
def test_oulu_protocol_bad_line(tmp_path: Path, line: str) -> None:
    touch(tmp_path, "Protocols/Protocol_2/Train.txt", f"+1,1_1_01_1\n{line}\n")
    with pytest.raises(DgfasError, match=r"Train.txt:2: expected"):
        oulu_protocol_videos(tmp_path, 2, None, "train")


def test_oulu_wrong_root(tmp_path: Path) -> None:
    touch(tmp_path, "Train/live/001/001-1-1-1-1.mov")  # a SiW tree
    with pytest.raises(DgfasError, match="does not look like OULU-NPU: missing") as error:
        index_corpus("oulu", tmp_path)
    assert "\n" not in str(error.value)
    for folder in OULU_SPLITS:
        (tmp_path / folder).mkdir()
    touch(tmp_path, "Train_files/notes.txt")
    with pytest.raises(DgfasError, match="no video named as expected"):
        index_corpus("oulu", tmp_path)


def test_cli_indexes_oulu(oulu_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "i.csv"
    assert main(["data", "index", "oulu", str(oulu_root), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert tuple(table.columns[:5]) == INDEX_COLUMNS
    assert len(table) == 4950 and {"phone", "session", "user", "file", "attack_device"} <= set(table.columns)


@pytest.fixture
def siw_root(tmp_path: Path) -> Path:
    """Three subjects (two train, one test): 2 live, 2 print and 2 replay videos each, .face files for the
    live ones, and strays; the test subject has two more videos named ``.m.mov`` as a few official ones are."""
    root = tmp_path / "SiW_release"
    for split, subject in (("Train", "003"), ("Train", "006"), ("Test", "090")):
        for name in ("1-1-1-1", "2-1-1-2"):
            touch(root, f"{split}/live/{subject}/{subject}-{name}.mov")
            touch(root, f"{split}/live/{subject}/{subject}-{name}.face")
        for name in ("1-2-1-1", "1-2-2-1", "2-3-1-1", "2-3-4-3"):
            touch(root, f"{split}/spoof/{subject}/{subject}-{name}.mov")
    touch(root, "Test/live/090/090-2-1-2-1.m.mov")  # its face file is named without the .m
    touch(root, "Test/live/090/090-2-1-2-1.face")
    touch(root, "Test/spoof/090/090-1-3-2-1.m.mov")
    touch(root, "Test/spoof/090/090-1-3-2-1.m.face")
    for stray in ("Train/live/003/003-1-2-1-1.mov",  # a print attack in the live folder
                  "Train/spoof/006/003-1-3-1-1.mov",  # subject folder and name disagree
                  "Test/readme.txt", "Test/spoof/090/090-1-4-1-1.mov"):
        touch(root, stray)
    return root


def test_siw_counts_and_metadata(siw_root: Path) -> None:
    index = index_corpus("siw", siw_root)
    table = index.table()
    assert len(table) == 20
    assert table["split"].value_counts().to_dict() == {"train": 12, "test": 8}
    assert table.groupby("split")["subject"].nunique().to_dict() == {"train": 2, "test": 1}
    assert table["attack_type"].value_counts().to_dict() == {"none": 7, "print": 6, "replay": 7}
    assert ((table["label"] == "live") == (table["type"] == 1)).all()
    row = table.set_index("relative_path").loc["Test/spoof/090/090-2-3-4-3.mov"]
    assert (row["split"], row["label"], row["attack_type"], row["subject"]) == ("test", "spoof", "replay", 90)
    assert (row["sensor"], row["type"], row["medium"], row["session"], row["attack_device"]) == (2, 3, 4, 3, 4)
    assert pd.isna(row["face_locations"])  # this fixture gives the live and the .m.mov videos their .face files


def test_siw_indexes_the_official_videos_named_m_mov(siw_root: Path) -> None:
    table = index_corpus("siw", siw_root).table().set_index("relative_path")
    live, replay = table.loc["Test/live/090/090-2-1-2-1.m.mov"], table.loc["Test/spoof/090/090-1-3-2-1.m.mov"]
    assert (live["label"], live["sensor"], live["medium"], live["session"]) == ("live", 2, 2, 1)
    assert live["attack_device"] == 0
    assert (replay["attack_type"], replay["sensor"], replay["attack_device"]) == ("replay", 1, 2)
    assert live["face_locations"] == "Test/live/090/090-2-1-2-1.face"
    assert replay["face_locations"] == "Test/spoof/090/090-1-3-2-1.m.face"


def test_siw_attack_device_names_the_printer_or_replay_device(siw_root: Path) -> None:
    """What SiW's Protocols 2 (leave one replay device out) and 3 (print vs replay) select on."""
    table = index_corpus("siw", siw_root).table()
    assert (table.loc[table["label"] == "live", "attack_device"] == 0).all()
    spoofs = table[table["label"] == "spoof"]
    assert (spoofs["attack_device"] == spoofs["medium"]).all()
    devices = spoofs.groupby("attack_type")["attack_device"].unique().map(sorted).to_dict()
    assert devices == {"print": [1, 2], "replay": [1, 2, 4]}


def test_siw_records_each_video_s_face_file(siw_root: Path) -> None:
    table = index_corpus("siw", siw_root).table().set_index("relative_path")
    assert table.loc["Train/live/006/006-2-1-1-2.mov", "face_locations"] == "Train/live/006/006-2-1-1-2.face"
    assert table["face_locations"].notna().sum() == 8
    assert table.loc[table["label"] == "live", "face_locations"].notna().all()


def test_siw_strays(siw_root: Path) -> None:
    assert index_corpus("siw", siw_root).stray == [
        "Test/readme.txt", "Test/spoof/090/090-1-4-1-1.mov", "Train/live/003/003-1-2-1-1.mov",
        "Train/spoof/006/003-1-3-1-1.mov"]


def test_siw_wrong_root(tmp_path: Path, oulu_root: Path) -> None:
    with pytest.raises(DgfasError, match="does not look like SiW: missing") as error:
        index_corpus("siw", oulu_root)
    assert "\n" not in str(error.value)
    empty = tmp_path / "empty"
    touch(empty, "Train/live/003/notes.txt")
    (empty / "Test").mkdir()
    with pytest.raises(DgfasError, match="no video named as expected"):
        index_corpus("siw", empty)


def test_registered() -> None:
    assert {"oulu", "siw"} <= set(CORPORA.names())
