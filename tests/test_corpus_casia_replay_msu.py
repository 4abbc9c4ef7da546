"""CASIA-FASD, Replay-Attack and MSU-MFSD adapters, on empty-file copies of the full distributed trees."""

from pathlib import Path

import pandas as pd
import pytest

from dgfas.cli import main
from dgfas.data.corpora import index_corpus
from dgfas.errors import DgfasError

# Replay-Attack clients per split: disjoint, 15/15/20 (the exact numbers do not matter to the adapter)
REPLAY_CLIENTS = {"train": range(1, 16), "devel": range(16, 31), "test": range(31, 51)}
# (attack device, sample device, content) of the five attacks shown on each support under each light
REPLAY_ATTACKS = [("print", "highdef", "photo"), ("mobile", "mobile", "photo"), ("mobile", "mobile", "video"),
                  ("highdef", "highdef", "photo"), ("highdef", "highdef", "video")]
# MSU-MFSD clients, as in bob.db.msu_mfsd_mod's train_sub_list.txt / test_sub_list.txt
MSU_TRAIN = [2, 3, 5, 6, 7, 8, 9, 11, 12, 21, 22, 34, 53, 54, 55]
MSU_TEST = [1, 13, 14, 23, 24, 26, 28, 29, 30, 32, 33, 35, 36, 37, 39, 42, 48, 49, 50, 51]


def _touch(root: Path, relative_path: str) -> None:
    path = root / relative_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def make_replay(root: Path) -> Path:
    for folder, clients in REPLAY_CLIENTS.items():
        for client in clients:
            for light in ("controlled", "adverse"):
                _touch(root, f"enroll/real/client{client:03d}_session01_webcam_enroll_{light}.mov")
                for take in (1, 2):
                    _touch(root, f"{folder}/real/client{client:03d}_session01_webcam_authenticate_{light}_{take}.mov")
                for support in ("fixed", "hand"):
                    for device, sample, content in REPLAY_ATTACKS:
                        _touch(root, f"{folder}/attack/{support}/attack_{device}_client{client:03d}_session01_"
                                     f"{sample}_{content}_{light}.mov")
    return root


def make_casia(root: Path) -> Path:
    for folder, subjects in (("train_release", 20), ("test_release", 30)):
        for n in range(1, subjects + 1):
            for stem in [*map(str, range(1, 9)), "HR_1", "HR_2", "HR_3", "HR_4"]:
                _touch(root, f"{folder}/{n}/{stem}.avi")
    return root


def make_msu(root: Path, *, folder: str = "scene01/", lists_at: str = "") -> Path:
    for client in MSU_TRAIN + MSU_TEST:
        for camera, extension in (("android", "mp4"), ("laptop", "mov")):
            _touch(root, f"{folder}real/real_client{client:03d}_{camera}_SD_scene01.{extension}")
            for medium in ("ipad_video", "iphone_video", "printed_photo"):
                _touch(root, f"{folder}attack/attack_client{client:03d}_{camera}_SD_{medium}_scene01.{extension}")
    # as shipped: zero-padded numbers, no newline after the last one
    (root / lists_at).mkdir(parents=True, exist_ok=True)
    (root / lists_at / "train_sub_list.txt").write_text("\n".join(f"{c:02d}" for c in MSU_TRAIN))
    (root / lists_at / "test_sub_list.txt").write_text("\n".join(f"{c:02d}" for c in MSU_TEST))
    return root


def _counts(table: pd.DataFrame, column: str) -> dict:
    return table.groupby(["split", column]).size().to_dict()


def test_replay_splits_have_the_published_counts(tmp_path):
    table = index_corpus("replay", make_replay(tmp_path)).table()
    assert table.groupby("split").size().to_dict() == {"train": 360, "dev": 360, "test": 480}
    assert _counts(table, "attack_type") == {
        ("train", "none"): 60, ("train", "print"): 60, ("train", "replay"): 240,
        ("dev", "none"): 60, ("dev", "print"): 60, ("dev", "replay"): 240,
        ("test", "none"): 80, ("test", "print"): 80, ("test", "replay"): 320}
    assert table.groupby("split")["subject"].nunique().to_dict() == {"train": 15, "dev": 15, "test": 20}
    assert (table["label"] == "live").sum() == 200


def test_replay_metadata_comes_from_the_name_and_folder(tmp_path):
    table = index_corpus("replay", make_replay(tmp_path)).table().set_index("relative_path")
    attack = table.loc["test/attack/hand/attack_mobile_client031_session01_mobile_video_adverse.mov"]
    assert (attack["split"], attack["attack_type"], attack["subject"], attack["support"], attack["attack_device"],
            attack["content"], attack["light"]) == ("test", "replay", 31, "hand", "mobile", "video", "adverse")
    real = table.loc["devel/real/client016_session01_webcam_authenticate_controlled_2.mov"]
    assert (real["split"], real["label"], real["light"], real["take"]) == ("dev", "live", "controlled", 2)


def test_replay_ignores_enroll_and_reports_stray_files(tmp_path):
    root = make_replay(tmp_path)
    _touch(root, "train/real/client001_session01_webcam_authenticate_controlled_1.face")
    _touch(root, "train/attack/fixed/attack_laser_client001_session01_highdef_photo_adverse.mov")
    index = index_corpus("replay", root)
    assert sorted(index.stray) == ["train/attack/fixed/attack_laser_client001_session01_highdef_photo_adverse.mov",
                                   "train/real/client001_session01_webcam_authenticate_controlled_1.face"]
    assert not any(v.relative_path.startswith("enroll/") for v in index.videos)
    assert len(index.videos) == 1200


def test_replay_records_the_face_locations_package(tmp_path):
    root = make_replay(tmp_path)
    real = "train/real/client001_session01_webcam_authenticate_controlled_1"
    attack = "devel/attack/fixed/attack_print_client016_session01_highdef_photo_adverse"
    for stem in (real, attack, "enroll/real/client001_session01_webcam_enroll_controlled",
                 "train/real/client099_session01_webcam_authenticate_controlled_1"):  # no such video
        _touch(root, f"face-locations/{stem}.face")
    index = index_corpus("replay", root)
    table = index.table().set_index("relative_path")
    assert table.loc[f"{real}.mov", "face_locations"] == f"face-locations/{real}.face"
    assert table.loc[f"{attack}.mov", "face_locations"] == f"face-locations/{attack}.face"
    assert table["face_locations"].notna().sum() == 2
    assert index.stray == ["face-locations/train/real/client099_session01_webcam_authenticate_controlled_1.face"]
    assert len(index.videos) == 1200


def test_replay_without_face_locations_has_the_column_empty(tmp_path):
    table = index_corpus("replay", make_replay(tmp_path)).table()
    assert table["face_locations"].isna().all()


def test_casia_splits_have_the_published_counts(tmp_path):
    table = index_corpus("casia", make_casia(tmp_path)).table()
    assert table.groupby("split").size().to_dict() == {"train": 240, "test": 360}
    assert table.groupby("split")["subject"].nunique().to_dict() == {"train": 20, "test": 30}
    # test folders restart at 1; ids are offset so no person is in both splits
    assert set(table.loc[table["split"] == "train", "subject"]) == set(range(1, 21))
    assert set(table.loc[table["split"] == "test", "subject"]) == set(range(21, 51))
    assert set(table[table["label"] == "live"].groupby("subject").size()) == {3}
    assert _counts(table, "attack_type")[("test", "print")] == 30 * 6
    assert _counts(table, "attack_type")[("test", "replay")] == 30 * 3


def test_casia_metadata_comes_from_the_file_name(tmp_path):
    table = index_corpus("casia", make_casia(tmp_path)).table().set_index("relative_path")
    assert tuple(table.loc["test_release/7/HR_3.avi", ["subject", "attack_type", "attack", "quality"]]) == (
        27, "print", "cut_photo", "high")
    assert tuple(table.loc["train_release/2/8.avi", ["attack_type", "quality"]]) == ("replay", "low")
    assert tuple(table.loc["train_release/2/3.avi", ["attack", "quality"]]) == ("warped_photo", "normal")


def test_casia_reports_stray_files(tmp_path):
    root = make_casia(tmp_path)
    for name in ("train_release/21/1.avi", "train_release/1/9.avi", "test_release/1/1.face", "readme.txt"):
        _touch(root, name)
    index = index_corpus("casia", root)
    assert sorted(index.stray) == ["readme.txt", "test_release/1/1.face", "train_release/1/9.avi",
                                   "train_release/21/1.avi"]
    assert len(index.videos) == 600


@pytest.mark.parametrize("folder,lists_at", [("scene01/", ""), ("scene01/", "scene01"), ("", "")])
def test_msu_splits_come_from_the_shipped_lists(tmp_path, folder, lists_at):
    table = index_corpus("msu", make_msu(tmp_path, folder=folder, lists_at=lists_at)).table()
    assert table.groupby("split").size().to_dict() == {"train": 120, "test": 160}
    assert table.groupby("split")["subject"].nunique().to_dict() == {"train": 15, "test": 20}
    assert set(table.loc[table["split"] == "train", "subject"]) == set(MSU_TRAIN)
    assert _counts(table, "attack_type") == {
        ("train", "none"): 30, ("train", "print"): 30, ("train", "replay"): 60,
        ("test", "none"): 40, ("test", "print"): 40, ("test", "replay"): 80}
    row = table.set_index("relative_path").loc[f"{folder}attack/attack_client013_laptop_SD_iphone_video_scene01.mov"]
    assert (row["split"], row["camera"], row["attack_medium"], row["subject"]) == ("test", "laptop", "iphone_video", 13)


def test_msu_reports_stray_files_but_not_its_lists(tmp_path):
    root = make_msu(tmp_path)
    for name in ("scene01/real/real_client002_android_SD_scene01.txt",  # a face-location file
                 "scene01/real/real_client099_android_SD_scene01.mp4",  # a client in neither list
                 "scene01/attack/attack_client002_android_SD_paper_scene01.mp4"):
        _touch(root, name)
    index = index_corpus("msu", root)
    assert sorted(index.stray) == ["scene01/attack/attack_client002_android_SD_paper_scene01.mp4",
                                   "scene01/real/real_client002_android_SD_scene01.txt",
                                   "scene01/real/real_client099_android_SD_scene01.mp4"]
    assert len(index.videos) == 280


def test_msu_without_its_lists_is_a_one_line_error(tmp_path):
    root = make_msu(tmp_path)
    (root / "test_sub_list.txt").unlink()
    with pytest.raises(DgfasError, match="test_sub_list.txt not found") as error:
        index_corpus("msu", root)
    assert "\n" not in str(error.value)


def test_msu_client_in_both_lists_is_an_error(tmp_path):
    root = make_msu(tmp_path)
    (root / "test_sub_list.txt").write_text("01\n02\n")
    with pytest.raises(DgfasError, match="client 2 is in both"):
        index_corpus("msu", root)


@pytest.mark.parametrize("corpus,expected", [("casia", "train_release"), ("replay", "devel"), ("msu", "real/")])
def test_a_root_that_is_not_the_corpus_is_a_one_line_error(tmp_path, corpus, expected):
    _touch(tmp_path, "Train_files/1_1_01_1.avi")  # an OULU-NPU root
    with pytest.raises(DgfasError, match=f"does not look like.*{expected}") as error:
        index_corpus(corpus, tmp_path)
    assert str(tmp_path) in str(error.value) and "\n" not in str(error.value)


def test_the_cli_writes_the_replay_index(tmp_path, capsys):
    root = make_replay(tmp_path / "replay")
    assert main(["data", "index", "replay", str(root), "--out", str(tmp_path / "i.csv")]) == 0
    header = (tmp_path / "i.csv").read_text().splitlines()[0]
    assert header.startswith("relative_path,split,label,attack_type,subject,")
    assert len(pd.read_csv(tmp_path / "i.csv")) == 1200
    assert "replay: 1200 videos" in capsys.readouterr().err
