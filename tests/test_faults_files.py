"""Damaged files, each met the way a user meets it: one line naming the file, never a traceback.

A damaged synthetic cache entry (truncated, a header byte flipped, an array
of the wrong dtype) is named and built again, and the run that found it
gives the numbers of a run on the intact cache; a real corpus's damaged
cache is named and refused. A byte changed inside an array passes the cheap
checks of every open and is found by ``dgfas data verify``. Score files cut
short and protocol files that do not parse are one line naming the file.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from dgfas.cli import main
from dgfas.data.corpora.cache import consolidated_folder, load_consolidated, verify_cache
from dgfas.data.corpora.cache_writer import FrameWriter
from dgfas.data.corpora.index import CorpusIndex, VideoEntry
from dgfas.data.frame_cache import frame_shapes, read_manifest, verify_frame_cache
from dgfas.errors import DgfasError

TRAIN = ["train", "--protocol", "C-I", "--method", "erm", "--preset", "tiny", "--no-progress", "--workers", "1"]


def _train(workdir: Path, cache: Path, capsys) -> tuple[dict[str, float], list[str]]:
    """A tiny erm run on C-I with its own store and runs folder: its target and source metrics, and its stderr lines."""
    workdir.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{workdir / 'mlflow.db'}")
        patch.chdir(workdir)
        assert main([*TRAIN, "--cache", str(cache), "--runs-dir", str(workdir / "runs")]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["status"] == "finished"
    return {k: v for k, v in result.items() if k.startswith(("target_test.", "source_val."))}, err.splitlines()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, dict[str, float]]:
    """The tiny cache (built by this first run) and the metrics of a run on it while intact."""
    root = tmp_path_factory.mktemp("damaged-cache")
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):  # a module fixture has no capsys
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        patch.chdir(root)
        assert main([*TRAIN, "--cache", str(root / "cache"), "--runs-dir", str(root / "runs")]) == 0
    result = json.loads(out.getvalue())
    return root / "cache", {k: v for k, v in result.items() if k.startswith(("target_test.", "source_val."))}


def _domain(cache: Path, name: str) -> Path:
    (folder,) = cache.glob(f"synthetic-*/{name}")
    return folder


def _truncate(path: Path) -> None:
    with open(path, "r+b") as file:
        file.truncate(path.stat().st_size - 1000)


def _flip_header_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[12] ^= 0xFF  # inside the header's dict, "{'descr': ..."
    path.write_bytes(bytes(data))


def _wrong_dtype(path: Path) -> None:
    np.save(path, np.load(path).astype(np.float64))  # int64 labels as float64: same shape, same size


@pytest.mark.slow
@pytest.mark.parametrize(("array", "damage", "says"), [
    ("images.npy", _truncate, "truncated: "),
    ("depth.npy", _flip_header_byte, "not a .npy array (its header does not parse)"),
    ("label.npy", _wrong_dtype, "holds float64 ("),
], ids=["truncated", "header-byte", "wrong-dtype"])
def test_a_damaged_synthetic_entry_is_named_rebuilt_and_gives_the_same_numbers(reference, tmp_path, capsys, array,
                                                                             damage, says):
    cache, intact_metrics = reference
    folder = _domain(cache, "synth-casia")
    damage(folder / array)

    metrics, err = _train(tmp_path / "run", cache, capsys)
    naming = [line for line in err if str(folder) in line]
    assert len(naming) == 1 and naming[0].startswith(f"dgfas: {folder / array}: {says}"), err
    assert naming[0].endswith(f"; deleted the damaged frame cache {folder} to build it again")
    assert not any("Traceback" in line for line in err)
    assert metrics == pytest.approx(intact_metrics, rel=1e-6, abs=1e-9)
    assert read_manifest(folder) is not None and verify_frame_cache(folder) == []


@pytest.mark.slow
def test_data_verify_finds_a_changed_data_byte_that_opening_cannot_see(reference, capsys):
    cache, _ = reference
    assert main(["data", "verify", "--cache", str(cache)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "0 problem(s)" in err

    path = _domain(cache, "synth-replay") / "images.npy"
    original = path.read_bytes()
    changed = bytearray(original)
    changed[-7] ^= 0x01  # a pixel of the last frame: header and size are as they were
    path.write_bytes(bytes(changed))
    try:
        assert read_manifest(path.parent) is not None  # the cheap checks pass: the entry would be loaded
        assert main(["data", "verify", "--cache", str(cache)]) == 1
        out, err = capsys.readouterr()
        assert out.splitlines() == [f"{path}: its data differs from the sha256 written with it in manifest.json"]
        assert "1 problem(s)" in err
    finally:
        path.write_bytes(original)


def test_data_verify_of_a_missing_folder_is_one_line(tmp_path, capsys):
    assert main(["data", "verify", "--cache", str(tmp_path / "nothere")]) == 2
    assert capsys.readouterr().err == f"dgfas: error: {tmp_path / 'nothere'}: no such cache folder\n"


SIZE = 16


def _real_cache(folder: Path) -> None:
    """A finished real-corpus cache of four videos of three frames, written by the cache's own writer."""
    videos = [VideoEntry(f"v{i}.avi", "train" if i < 2 else "test", "live" if i % 2 else "spoof",
                         "none" if i % 2 else "print", i) for i in range(4)]
    index = CorpusIndex("casia", folder / "corpus", videos, [])
    rng = np.random.default_rng(0)
    with FrameWriter(folder, SIZE) as writer:
        for video in videos:
            arrays = {name: rng.integers(0, 256, (3, *shape), dtype=np.uint8)
                      for name, shape in frame_shapes(SIZE).items()}
            meta = {"frame": [0, 2, 4], "face_source": ["detected"] * 3, "mesh_found": [True] * 3}
            writer.append(video.relative_path, arrays, meta, {"status": "ok"})
        writer.finish(index)


def _rewrite_depth_as_float32(path: Path) -> None:
    np.save(path, np.load(path).astype(np.float32))


@pytest.mark.parametrize(("array", "damage", "says"), [
    ("images.npy", _truncate, "truncated: "),
    ("parsing.npy", _flip_header_byte, "not a .npy array (its header does not parse)"),
    ("depth.npy", _rewrite_depth_as_float32,
     f"holds float32 (12, {SIZE}, {SIZE}), expected uint8 (12, {SIZE}, {SIZE})"),
], ids=["truncated", "header-byte", "wrong-dtype"])
def test_a_damaged_real_cache_is_one_line_naming_the_file(tmp_path, capsys, array, damage, says):
    folder = tmp_path / "cache" / "real" / "casia-0123"
    _real_cache(folder)
    assert len(load_consolidated(folder, "casia")) == 12 and verify_cache(folder) == []
    path = consolidated_folder(folder) / array
    damage(path)
    with pytest.raises(DgfasError) as error:
        load_consolidated(folder, "casia")
    message = str(error.value)
    assert message.startswith(f"{path}: {says}") and "\n" not in message
    assert message.endswith(f"delete {folder} and prepare the corpus again")
    assert main(["data", "verify", "--cache", str(tmp_path / "cache")]) == 1
    assert capsys.readouterr().out.splitlines() == [message]


def test_data_verify_names_the_video_whose_frames_changed(tmp_path, capsys):
    folder = tmp_path / "cache" / "real" / "casia-0123"
    _real_cache(folder)
    path = consolidated_folder(folder) / "parsing.npy"
    changed = bytearray(path.read_bytes())
    changed[-(SIZE * SIZE * 3)] ^= 0x01  # the first pixel of row 9, the first of v3's three frames
    path.write_bytes(bytes(changed))
    assert len(load_consolidated(folder, "casia")) == 12  # the cheap checks cannot see it
    assert main(["data", "verify", "--cache", str(tmp_path / "cache")]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{consolidated_folder(folder)}: the frames of v3.avi (rows 9-11 of images.npy, depth.npy, parsing.npy, "
        "reflection.npy) differ from the digest written with them"]


HEADER = "video_id,frame,label,score\n"


@pytest.mark.parametrize(("content", "says"), [
    (HEADER + "a,0,1,0.9\nb,0,0,0.1\nc,0,1", "column 'score' has an empty value in data row 3 (line 4)"),
    (HEADER + 'a,0,1,0.9\nb,0,0,0.1\n"c,0', "not a parsable CSV"),
    (HEADER[:13], "missing column(s) ['frame', 'label', 'score']; a score file's first line is its header: "
                  "video_id,frame,label,score and optionally attack_type,domain,subject"),
    ("SECRET first line of some other file\nsecond\n",
     "missing column(s) ['video_id', 'frame', 'label', 'score']; a score file's first line is its header"),
], ids=["cut-mid-row", "cut-in-a-quoted-field", "cut-in-the-header", "not-a-score-file"])
def test_a_truncated_or_foreign_score_file_is_one_line_naming_it(tmp_path, capsys, content, says):
    path = tmp_path / "target_test.frame.csv"
    path.write_text(content)
    assert main(["metrics", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dgfas: error: {path}: ") and says in err and err.count("\n") == 1
    assert "SECRET" not in err


def test_a_protocol_file_that_does_not_parse_is_one_line_naming_it(tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text('sources = ["C"\ntarget = "I"\n')
    assert main(["train", "--protocol", str(path), "--method", "erm", "--preset", "tiny",
                 "--cache", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dgfas: error: {path}: not valid TOML") and err.count("\n") == 1
    assert not (tmp_path / "cache").exists()
