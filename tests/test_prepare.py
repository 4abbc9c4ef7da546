"""Real corpora end to end: fixture trees with real video files go through index, prepare and training."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from corpus_videos import CORPUS_TREES, FRAME_SHAPE, FRAMES, face_frames

from dgfas.cli import main
from dgfas.data.corpora import index_corpus
from dgfas.data.corpora import cache_identity as cache_identity_module
from dgfas.data.corpora.cache import FRAME_ARRAYS, consolidated_folder, load_consolidated, read_journal
from dgfas.data.corpora.cache_identity import PrepareConfig, cache_folder
from dgfas.data.corpora.datasets import load_corpus, prepared_frames
from dgfas.data.corpora.derive import resize_frames
from dgfas.data.corpora.prepare import prepare_corpus
from dgfas.data.corpora.video import read_frames, write_video
from dgfas.data.corpora.video_preparer import VideoPreparer
from dgfas.data.registry import DataOptions
from dgfas.errors import DgfasError, UnsupportedSetting

CONFIG = PrepareConfig(frames_per_video=3, size=32)


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpora")
    return {corpus: make(root / corpus) for corpus, (make, _, _) in CORPUS_TREES.items()}


@pytest.fixture(scope="module")
def prepared(trees, tmp_path_factory):
    """Every fixture corpus prepared once (in-process), shared by the tests that only read the cache."""
    cache = tmp_path_factory.mktemp("cache")
    return cache, {c: prepare_corpus(index_corpus(c, root), cache, CONFIG, workers=1, progress=False)
                   for c, root in trees.items()}


@pytest.mark.parametrize("corpus", list(CORPUS_TREES))
def test_fixture_tree_indexes_as_the_corpus_describes_it(trees, corpus):
    _, videos, subjects = CORPUS_TREES[corpus]
    index = index_corpus(corpus, trees[corpus])
    table = index.table()
    assert index.stray == []
    assert len(table) == videos
    assert table.groupby("split")["subject"].nunique().to_dict() == subjects
    assert (table["label"] == "live").sum() == videos // 3
    assert sorted(table["attack_type"].unique()) == ["none", "print", "replay"]


@pytest.mark.parametrize("corpus", list(CORPUS_TREES))
def test_prepare_caches_every_video_with_crops_and_labels(prepared, corpus):
    _, results = prepared
    result = results[corpus]
    report = result.report
    _, videos, _ = CORPUS_TREES[corpus]
    # MTCNN misses the odd small printed face after video compression: at most one video is left out for it
    # (the default --no-face skip), and none is cropped at its centre
    kept = report[report["status"] == "ok"]
    assert len(report) == videos and len(kept) >= videos - 1 and set(report["status"]) <= {"ok", "no_face"}
    assert (kept["frames"] == 3).all() and report["centre"].sum() == 0  # 3 of the videos' 5 frames
    from_file = {"replay": 3, "siw": 3}.get(corpus, 0)  # one video with the corpus's own face locations
    assert report["face_file"].sum() == from_file
    assert kept[["face_file", "detected", "nearest_frame", "centre"]].to_numpy().sum() == 3 * len(kept)
    assert "videos prepared" in result.summary()

    frames = load_consolidated(result.folder, corpus)
    fingerprint = frames.origin.sources[0]
    assert frames.images.shape == (3 * len(kept), 32, 32, 3)
    assert {getattr(frames, name).dtype for name in FRAME_ARRAYS} == {np.dtype(np.uint8)}  # maps as 0-255 codes
    assert isinstance(frames.images, np.memmap)
    manifest = json.loads((consolidated_folder(result.folder) / "manifest.json").read_text())
    assert fingerprint == manifest["fingerprint"] and len(fingerprint) == 64 and manifest["format"] == 2
    assert not list(result.folder.rglob("*.npz"))  # one copy of each frame: no per-video files
    assert sorted(set(frames.frame)) == [0, 2, 4] and FRAMES == 5
    live = frames.label == 1
    assert not frames.depth[~live].any()  # spoofs: flat depth
    assert frames.depth[live].max() > 127  # lives: a face-shaped depth map
    assert not frames.reflection[live].any()  # lives: no reflection layer
    assert (frames.parsing[live] > 0).mean() > 0.3  # the face covers much of a live crop


@pytest.mark.parametrize("corpus", list(CORPUS_TREES))
def test_loaded_corpus_has_a_dev_split_subject_disjoint_from_train(trees, prepared, corpus):
    cache, _ = prepared
    options = DataOptions(cache, image_size=32, roots=((corpus, str(trees[corpus])),), frames_per_video=3,
                          workers=1, progress=False)
    splits = {s: load_corpus(corpus, s, options=options) for s in ("train", "dev", "test")}
    fingerprint = prepared_frames(corpus, str(Path(trees[corpus]).resolve()), options).origin.sources
    assert fingerprint == load_consolidated(cache_folder(cache, corpus, CONFIG), corpus).origin.sources  # read, not recomputed
    assert all(len(f) > 0 for f in splits.values())
    assert not set(splits["train"].subject) & set(splits["dev"].subject)
    assert not set(splits["test"].subject) & (set(splits["train"].subject) | set(splits["dev"].subject))
    assert all(f.domain == corpus and all(v.startswith(f"{corpus}/") for v in f.video_id) for f in splits.values())


def cache_bytes(folder: Path) -> dict[str, bytes]:
    """Every file of a finished cache's arrays and tables, by name (the journal and report excluded)."""
    frames = consolidated_folder(folder)
    return {name: (frames / name).read_bytes()
            for name in [f"{a}.npy" for a in FRAME_ARRAYS] + ["frames.csv", "manifest.json"]}


def test_prepare_resumes_where_its_journal_ends_and_keys_the_cache_by_config(trees, prepared, tmp_path):
    cache, results = prepared
    index = index_corpus("casia", trees["casia"])
    copy = tmp_path / "cache"
    shutil.copytree(cache, copy)
    folder = cache_folder(copy, "casia", CONFIG)
    assert folder.name == results["casia"].folder.name
    finished = cache_bytes(folder)
    # as if killed while committing the 17th video: its frames half appended, its journal line cut short,
    # the 18th not begun
    frames = consolidated_folder(folder)
    lines = (frames / "journal.jsonl").read_bytes().split(b"\n")
    (frames / "journal.jsonl").write_bytes(b"\n".join(lines[:16]) + b"\n" + lines[16][:40])
    (frames / "manifest.json").unlink()
    with open(frames / "images.npy", "r+b") as images:
        images.truncate(len(finished["images.npy"]) - 32 * 32 * 3 * 4)
    with pytest.raises(DgfasError, match="interrupted"):
        load_consolidated(folder, "casia")
    again = prepare_corpus(index, copy, CONFIG, workers=1, progress=False)
    assert again.prepared_now == 2 and (again.report["status"] == "ok").all()
    assert cache_bytes(folder) == finished  # byte for byte what an uninterrupted run wrote
    assert list(again.report["face_file"]) == list(results["casia"].report["face_file"])
    assert prepare_corpus(index, copy, CONFIG, workers=1, progress=False).prepared_now == 0
    assert cache_folder(copy, "casia", PrepareConfig(frames_per_video=2, size=32)) != folder
    assert cache_folder(copy, "casia", PrepareConfig(frames_per_video=3, size=48)) != folder
    assert cache_folder(copy, "oulu", CONFIG) != folder


def test_a_prepare_killed_with_sigkill_resumes_to_the_same_cache(trees, prepared, tmp_path):
    _, results = prepared
    root, cache = trees["casia"], tmp_path / "cache"
    script = ("from dgfas.data.corpora import index_corpus\n"
              "from dgfas.data.corpora.cache_identity import PrepareConfig\n"
              "from dgfas.data.corpora.prepare import prepare_corpus\n"
              f"prepare_corpus(index_corpus('casia', {str(root)!r}), {str(cache)!r}, PrepareConfig(3, 32), "
              "workers=1, progress=False)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    process = subprocess.Popen([sys.executable, "-c", script], env=env)
    journal = consolidated_folder(cache_folder(cache, "casia", CONFIG)) / "journal.jsonl"
    while process.poll() is None and (not journal.is_file() or journal.read_bytes().count(b"\n") < 2):
        time.sleep(0.002)
    process.kill()
    process.wait()
    committed = len(read_journal(journal.parent.parent))
    assert 2 <= committed < 18 and not (journal.parent / "manifest.json").exists()  # killed, not finished
    resumed = prepare_corpus(index_corpus("casia", root), cache, CONFIG, workers=1, progress=False)
    assert resumed.prepared_now == 18 - committed
    assert cache_bytes(resumed.folder) == cache_bytes(results["casia"].folder)


def test_a_run_with_smaller_crops_resizes_a_prepared_cache_without_decoding(trees, prepared, tmp_path, monkeypatch,
                                                                             capsys):
    cache, results = prepared
    copy = tmp_path / "cache"
    shutil.copytree(cache, copy)
    source = copy / "real" / results["casia"].folder.name

    def no_decoding(*args, **kwargs):
        raise AssertionError("a derived cache decoded a video")

    monkeypatch.setattr("dgfas.data.corpora.video.read_frames", no_decoding)
    options = DataOptions(copy, image_size=16, roots=(("casia", str(trees["casia"])),), frames_per_video=3,
                          workers=1, progress=False)
    small = load_corpus("casia", options=options)
    assert capsys.readouterr().err.strip() == (f"casia: using {small_folder(copy)}, 16 px crops resized from "
                                               f"{source}")
    big = load_consolidated(source, "casia")
    expected = resize_frames({name: getattr(big, name) for name in FRAME_ARRAYS}, 16)
    for name in FRAME_ARRAYS:
        assert np.array_equal(getattr(small, name), expected[name]), name
    assert list(small.video_id) == list(big.video_id) and list(small.label) == list(big.label)
    derived = json.loads((consolidated_folder(small_folder(copy)) / "manifest.json").read_text())
    assert derived["derived_from"] == source.name and derived["size"] == 16
    assert derived["fingerprint"] != json.loads((consolidated_folder(source) / "manifest.json").read_text())["fingerprint"]
    assert json.loads((small_folder(copy) / "config.json").read_text())["identity"]["derived_from"] == source.name
    # found, not derived again; a direct preparation at that size stays a cache of its own
    monkeypatch.setattr("dgfas.data.corpora.prepare.derive_cache", no_decoding)
    prepared_frames.cache_clear()
    load_corpus("casia", options=options)
    assert cache_folder(copy, "casia", PrepareConfig(3, 16)) != small_folder(copy)


def small_folder(cache: Path) -> Path:
    (folder,) = [f for f in (cache / "real").glob("casia-*") if "derived_from" in f.joinpath("config.json").read_text()]
    return folder


def test_a_cache_of_an_older_format_is_refused_and_never_reused(prepared, tmp_path, monkeypatch):
    old = tmp_path / "real" / "casia-0123456789ab"
    (old / "frames").mkdir(parents=True)
    np.save(old / "frames" / "depth.npy", np.zeros((2, 32, 32), np.float16))
    (old / "frames" / "manifest.json").write_text(json.dumps({"corpus": "casia", "index": "x", "frames": 2}))
    with pytest.raises(DgfasError) as refused:
        load_consolidated(old, "casia")
    message = str(refused.value)
    assert "\n" not in message and str(old) in message and "format 1" in message and "prepare" in message
    (old / "frames" / "manifest.json").unlink()
    (old / "videos").mkdir()
    with pytest.raises(DgfasError, match="older dgfas"):
        load_consolidated(old, "casia")
    current = cache_folder(tmp_path, "casia", CONFIG)
    monkeypatch.setattr(cache_identity_module, "FORMAT_VERSION", 1)
    assert cache_folder(tmp_path, "casia", CONFIG) != current  # the format names the folder


def test_an_unreadable_video_is_reported_and_skipped(trees, tmp_path):
    root = tmp_path / "casia"
    shutil.copytree(trees["casia"], root)
    (root / "test_release/2/7.avi").write_bytes(b"not a video at all")
    (root / "train_release/1/3.avi").write_bytes(b"")
    result = prepare_corpus(index_corpus("casia", root), tmp_path / "cache", CONFIG, workers=1, progress=False)
    failed = result.report[result.report["status"] != "ok"]
    assert sorted(failed["relative_path"]) == ["test_release/2/7.avi", "train_release/1/3.avi"]
    assert all(str(root) in error for error in failed["error"])
    assert f"  test_release/2/7.avi: left out: {root / 'test_release/2/7.avi'}: " in result.summary()
    assert len(load_consolidated(result.folder, "casia")) == 3 * 16


@pytest.mark.slow
def test_parallel_workers_prepare_the_same_frames(trees, prepared, tmp_path):
    _, results = prepared
    parallel = prepare_corpus(index_corpus("msu", trees["msu"]), tmp_path, CONFIG, workers=2, progress=False)
    serial, in_parallel = load_consolidated(results["msu"].folder, "msu"), load_consolidated(parallel.folder, "msu")
    assert np.array_equal(serial.images, in_parallel.images)
    assert np.array_equal(serial.depth, in_parallel.depth)
    assert list(serial.video_id) == list(in_parallel.video_id)


def test_real_data_needs_the_corpus_root(tmp_path, capsys):
    code = main(["train", "--protocol", "C-I", "--method", "erm", "--preset", "tiny", "--data", "real",
                 "--cache", str(tmp_path), "--runs-dir", str(tmp_path), "--no-progress"])
    assert code != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--root casia=" in err
    assert main(["train", "--protocol", "C-I", "--method", "erm", "--data", "real", "--root", "casia"]) != 0
    assert main(["train", "--protocol", "C-I", "--method", "erm", "--data", "real", "--root", "cassia=/x"]) != 0


@pytest.mark.slow
def test_prepare_then_train_on_real_corpora_through_the_cli(trees, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    for corpus in ("casia", "replay"):
        assert main(["data", "prepare", corpus, str(trees[corpus]), "--size", "32", "--frames-per-video", "3",
                     "--cache", "cache", "--workers", "1", "--no-progress"]) == 0
        out = capsys.readouterr().out
        assert "18/18 videos prepared (18 now, 0 cached)" in out and "frames/s" in out
    roots = ["--root", f"casia={trees['casia']}", "--root", f"replay={trees['replay']}"]
    common = ["--preset", "tiny", "--data", "real", *roots, "--frames-per-video", "3", "--cache", "cache",
              "--runs-dir", "runs", "--no-progress", "--workers", "1"]
    assert main(["train", "--protocol", "C-I", "--method", "erm", *common]) == 0
    captured = capsys.readouterr()
    assert "videos prepared" not in captured.err  # found in the cache, not prepared again
    metrics = json.loads(captured.out)
    assert metrics["status"] == "finished" and 0 <= metrics["target_test.video.auc"] <= 1

    assert main(["benchmark", "--protocols", "C-I", "--methods", "auxiliary", "--leaderboard-dir", "boards",
                 *common]) == 0
    assert "auxiliary on C-I seed 0: not run: auxiliary trains on ['pulse'] ground truth" in capsys.readouterr().err


def test_a_method_needing_missing_ground_truth_is_unsupported(trees, prepared):
    from dgfas.run import RunSpec, resolve

    cache, _ = prepared
    options = DataOptions(cache, roots=(("casia", str(trees["casia"])), ("replay", str(trees["replay"]))),
                          frames_per_video=3, workers=1, progress=False)
    with pytest.raises(UnsupportedSetting, match="pulse"):
        resolve(RunSpec(protocol="C-I", method="auxiliary", preset="tiny", data_source="real"), options)
    with pytest.raises(DgfasError, match="--root msu="):
        resolve(RunSpec(protocol="ICM-O", method="erm", preset="tiny", data_source="real"), options)


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["ICM-O", "S-M"])
def test_every_corpus_trains_as_a_protocol_domain(trees, prepared, tmp_path, monkeypatch, capsys, protocol):
    """ICM-O reads OULU-NPU, CASIA-FASD, Replay-Attack and MSU-MFSD; a SiW→MSU cross-test file reads SiW."""
    cache, _ = prepared
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    if protocol == "S-M":
        text = (Path(__file__).parent.parent / "protocols" / "C-I.toml").read_text()
        protocol_file = tmp_path / "S-M.toml"
        protocol_file.write_text(text.replace('"C-I"', '"S-M"').replace("C→I", "S→M")
                                 .replace('["C"]', '["S"]').replace('"I"', '"M"'))
        protocol = str(protocol_file)
    roots = [arg for corpus, root in trees.items() for arg in ("--root", f"{corpus}={root}")]
    assert main(["train", "--protocol", protocol, "--method", "erm", "--preset", "tiny", "--data", "real", *roots,
                 "--frames-per-video", "3", "--cache", str(cache), "--runs-dir", str(tmp_path / "runs"),
                 "--no-progress", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert "videos prepared" not in captured.err
    assert json.loads(captured.out)["status"] == "finished"


def test_a_malformed_face_file_falls_back_to_detection_and_is_noted(trees, tmp_path):
    root = tmp_path / "replay"
    shutil.copytree(trees["replay"], root)
    face_file = next((root / "face-locations").rglob("*.face"))
    face_file.write_text("0 10 10 oops 40\n")
    result = prepare_corpus(index_corpus("replay", root), tmp_path / "cache", CONFIG, workers=1, progress=False)
    report = result.report
    assert (report["status"] == "ok").all() and report["face_file"].sum() == 0
    (noted,) = report.loc[report["error"] != "", "error"]
    assert noted.startswith("face file not used (") and noted.endswith("): faces detected instead")
    assert str(face_file) in noted and "line 1" in noted
    assert f"  train/real/client001_session01_webcam_authenticate_controlled_1.mov: {noted}" in result.summary()
    again = prepare_corpus(index_corpus("replay", root), tmp_path / "cache", CONFIG, workers=1, progress=False)
    assert again.prepared_now == 0 and list(again.report["error"]) == list(report["error"])  # kept across resumes


#: a CASIA-FASD video that shows no face (grey frames), and one shorter than the 3 frames asked for
NO_FACE, SHORT = "test_release/3/7.avi", "train_release/2/1.avi"


@pytest.fixture(scope="module")
def no_face_corpus(trees, tmp_path_factory):
    """CASIA-FASD with ``NO_FACE`` and ``SHORT``, prepared with the default policy."""
    root = tmp_path_factory.mktemp("no_face") / "casia"
    shutil.copytree(trees["casia"], root)
    write_video(root / NO_FACE, np.full((FRAMES, *FRAME_SHAPE, 3), 128, np.uint8))
    write_video(root / SHORT, face_frames("synth-casia", 2, -1)[:2])
    cache = tmp_path_factory.mktemp("no_face_cache")
    return root, cache, prepare_corpus(index_corpus("casia", root), cache, CONFIG, workers=1, progress=False)


def test_a_video_without_a_face_is_left_out_by_default_and_named(no_face_corpus):
    root, cache, result = no_face_corpus
    report = result.report.set_index("relative_path")
    assert report.loc[NO_FACE, "status"] == "no_face" and report.loc[NO_FACE, "frames"] == 0
    assert (report.drop(index=NO_FACE)["status"] == "ok").all() and report.loc[SHORT, "frames"] == 2
    summary = result.summary().splitlines()
    assert summary[0].startswith("17/18 videos prepared (17 now, 0 cached), 50 frames")
    assert f"  {NO_FACE}: left out (--no-face skip): no face found in any of its 3 frames" in summary
    (short,) = [line for line in summary if line.startswith(f"  {SHORT}: ")]
    assert short.endswith("only 2 frames in the video, 3 asked: all kept")
    assert summary[-1].startswith("18 video(s) decoded in ")
    # what the cache lists leaves it out, and the readers of the cache take it as it is
    frames = load_consolidated(result.folder, "casia")
    assert len(frames) == 3 * 16 + 2 and f"casia/{NO_FACE}" not in set(frames.video_id)
    assert read_journal(result.folder)[-1]["video"] != NO_FACE and len(read_journal(result.folder)) == 17
    options = DataOptions(cache, image_size=32, roots=(("casia", str(root)),), frames_per_video=3, workers=1,
                          progress=False)
    loaded = load_corpus("casia", options=options)
    assert len(loaded) == 50 and f"casia/{NO_FACE}" not in set(loaded.video_id)
    assert json.loads((result.folder / "config.json").read_text())["no_face"] == "skip"


def test_a_prepare_over_a_cached_corpus_decodes_nothing_and_says_so(no_face_corpus, monkeypatch, capsys):
    root, cache, result = no_face_corpus

    def no_decoding(*args, **kwargs):
        raise AssertionError("a cached corpus decoded a video")

    monkeypatch.setattr("dgfas.data.corpora.video.read_frames", no_decoding)
    assert main(["data", "prepare", "casia", str(root), "--size", "32", "--frames-per-video", "3", "--cache",
                 str(cache), "--workers", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "all 18 videos already cached, nothing decoded" in out and not any("frames/s" in line for line in out)
    assert f"  {NO_FACE}: left out (--no-face skip): no face found in any of its 3 frames" in out  # still named
    assert out[-1] == f"report: {result.folder / 'report.csv'}"


def test_centre_crops_a_video_without_a_face_and_names_it(no_face_corpus, tmp_path, capsys):
    root, cache, result = no_face_corpus
    copy = tmp_path / "cache"
    shutil.copytree(cache, copy)
    folder = copy / "real" / result.folder.name
    prepare = ["data", "prepare", "casia", str(root), "--size", "32", "--frames-per-video", "3", "--cache",
               str(copy), "--workers", "1", "--no-progress"]
    assert main([*prepare, "--no-face", "centre"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("18/18 videos prepared (1 now, 17 cached), 53 frames")
    (line,) = [line for line in out if line.startswith(f"  {NO_FACE}: ")]
    assert line.startswith(f"  {NO_FACE}: cropped at the centre (--no-face centre): no face found in any of its 3 "
                           "frames")
    assert any(line.startswith("1 video(s) decoded in ") and line.endswith(" frames/s") for line in out)
    frames = load_consolidated(folder, "casia")
    centred = frames.video_id == f"casia/{NO_FACE}"
    assert len(frames) == 53 and centred.sum() == 3
    assert (pd.read_csv(consolidated_folder(folder) / "frames.csv")["face_source"] == "centre").sum() == 3
    # the choice is kept by a later run; asking to skip a video the cache holds is refused, in one line
    again = prepare_corpus(index_corpus("casia", root), copy, CONFIG, workers=1, progress=False)
    assert again.decoded_now == 0
    assert again.summary().splitlines()[-1] == "all 18 videos already cached, nothing decoded"
    with pytest.raises(DgfasError) as refused:
        prepare_corpus(index_corpus("casia", root), copy, CONFIG, no_face="skip", workers=1, progress=False)
    message = str(refused.value)
    assert "\n" not in message and NO_FACE in message and str(folder) in message and "--no-face centre" in message
    with pytest.raises(SystemExit):
        main([*prepare, "--no-face", "middle"])
    assert "invalid choice" in capsys.readouterr().err


def test_face_file_boxes_off_the_frame_are_detected_instead_and_noted(trees, tmp_path):
    root = tmp_path / "replay"
    shutil.copytree(trees["replay"], root)
    entry = next(v for v in index_corpus("replay", root).videos if v.metadata.get("face_locations"))
    face_file = root / entry.metadata["face_locations"]
    lines = face_file.read_text().splitlines()
    lines[0] = "0 200 10 40 40"  # right of the 160 px wide frame
    face_file.write_text("\n".join(lines) + "\n")
    sampled = read_frames(root / entry.relative_path, 3)
    boxes, sources, note = VideoPreparer(root, CONFIG).face_boxes(entry, sampled.frames, sampled.indices)
    assert sources[0] in ("detected", "nearest_frame") and sources[1:] == ["face_file", "face_file"]
    assert boxes[0].x1 <= FRAME_SHAPE[1]
    assert note == "face file boxes off the 160x120 frame at frame(s) 0: faces detected instead"


def test_a_video_leaving_the_corpus_remakes_the_cache_and_says_so(no_face_corpus, tmp_path, monkeypatch):
    root, cache, result = no_face_corpus
    shutil.copytree(root, tmp_path / "casia")
    shutil.copytree(cache, tmp_path / "cache")
    (tmp_path / "casia" / "test_release/1/3.avi").unlink()
    remade = prepare_corpus(index_corpus("casia", tmp_path / "casia"), tmp_path / "cache", CONFIG, workers=1,
                            progress=False)
    assert remade.left_corpus == ("test_release/1/3.avi",) and remade.prepared_now == 16
    assert remade.decoded_now == 16  # the video without a face is still left out, not decoded again
    assert ("made again from the videos: 1 video(s) in the cache left the corpus: test_release/1/3.avi"
            in remade.summary().splitlines())
