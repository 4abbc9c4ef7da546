"""The prepared-frame cache of one real corpus: its layout on disk, and how a run reads and verifies it.

Preparing a corpus takes hours, so the unit of work and of writing is the
video. Each prepared video's frames are appended to plain ``.npy`` arrays
(``frames/<name>.npy``), then one line naming it is appended to
``frames/journal.jsonl``; the journal, not the files' length, says what is
written (:class:`dgfas.data.corpora.cache_writer.FrameWriter` writes it, and
resumes a killed preparation exactly where the journal ends). When every
video is in, the frame table ``frames.csv`` is written, and last
``manifest.json``: the format version, which index the arrays belong to and a
sha256 fingerprint of the prepared data computed while writing, so a run
reads it instead of hashing the corpus.

The trainer memory-maps the arrays and reads only the rows a run samples,
after checking each array's header and size against the manifest
(:func:`dgfas.data.npy_files.npy_problem`); a damaged array is a one-line
error naming it. The per-video digests of the journal are the cache's
checksums: ``dgfas data verify`` (:func:`verify_cache`) reads every frame
against them and names each video whose bytes changed.

Pixel maps are stored as uint8, as the images are: depth and the reflection
layer in [0, 1] are scaled to 0-255 (:func:`dgfas.data.frames.encode_unit_map`; the depth
labels of the field's code bases are 8-bit images too), which halves the
maps against float16; consumers divide by 255.

The folder a cache lies in is named by :mod:`dgfas.data.corpora.cache_identity`;
a cache of smaller crops is resized from a prepared one by
:mod:`dgfas.data.corpora.derive`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from dgfas.data.corpora.index import CorpusIndex
from dgfas.data.frame_cache import frame_shapes
from dgfas.data.frames import FrameSet, Origin
from dgfas.data.npy_files import npy_problem
from dgfas.errors import DgfasError

#: Version of the cache's layout and encoding. 2: uint8 maps, arrays appended with a journal, no per-video
#: files (1: float16 depth and reflection, per-video ``.npz`` files joined at the end).
FORMAT_VERSION = 2

#: Per-frame arrays of a prepared video, with their dtypes: depth and reflection are
#: :func:`dgfas.data.frames.encode_unit_map` codes, parsing holds class ids.
FRAME_ARRAYS = {"images": np.uint8, "depth": np.uint8, "parsing": np.uint8, "reflection": np.uint8}

#: Per-frame metadata a video's arrays come with (kept in the journal, then the frame table).
FRAME_META = ("frame", "face_source", "mesh_found")

#: How each kept frame's face box was found.
FACE_SOURCES = ("face_file", "detected", "nearest_frame", "centre")

#: Columns of the consolidated frame table, one row per kept frame.
FRAME_COLUMNS = ("relative_path", "frame", "split", "label", "attack_type", "subject", "face_source", "mesh_found")


def consolidated_folder(folder: Path) -> Path:
    """Where a cache folder's arrays, journal, frame table and manifest lie."""
    return folder / "frames"


def read_journal(folder: Path) -> list[dict]:
    """The videos whose frames are in a cache's arrays, in row order (one dict per video).

    A line cut short by a killed write, and anything after it, is not part of
    the journal: that video was not committed and is prepared again.
    """
    return journal_entries(consolidated_folder(folder) / "journal.jsonl")[0]


def journal_entries(path: Path) -> tuple[list[dict], int]:
    """The committed entries of the journal file at ``path``, and the length in bytes they make up
    (where a resumed writer cuts the file)."""
    if not path.is_file():
        return [], 0
    entries, length = [], 0
    data = path.read_bytes()
    for line in data.split(b"\n")[:-1]:  # the last piece is empty, or a line without its newline
        try:
            entry = json.loads(line)
        except ValueError:
            break
        if not isinstance(entry, dict) or set(entry) != _JOURNAL_KEYS:
            break
        entries.append(entry)
        length += len(line) + 1
    return entries, length


#: What the journal records per video: its rows, their per-frame metadata, its report row, a digest of its pixels.
_JOURNAL_KEYS = {"video", "rows", *FRAME_META, "report", "digest"}


def index_digest(index: CorpusIndex, prepared: list[str]) -> str:
    """sha256 of the indexed videos, their labels and which of them are in the arrays, in their order.

    The frame table belongs to exactly this pair: a new video, a changed
    label or a video that now decodes makes it be written again.
    """
    table = index.table()[["relative_path", "split", "label", "attack_type", "subject"]]
    text = table.to_csv(index=False) + "\n".join(prepared)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_manifest(folder: Path) -> dict:
    """A finished cache's manifest; a cache that is unfinished or of another format is a one-line error."""
    frames_folder = consolidated_folder(folder)
    path = frames_folder / "manifest.json"
    redo = "delete the folder and prepare the corpus again (dgfas data prepare, or a run with --root)"
    if not path.is_file():
        if (frames_folder / "journal.jsonl").is_file():
            raise DgfasError(f"{folder}: preparation of this frame cache was interrupted; run dgfas data prepare "
                             "again to finish it")
        if (folder / "videos").is_dir() or (frames_folder / "images.npy").is_file():
            raise DgfasError(f"{folder}: frame cache of an older dgfas (format 1, float16 maps); {redo}")
        raise DgfasError(f"{folder}: no prepared frames (no {path.name})")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DgfasError(f"{path}: unreadable ({error}); {redo}") from None
    if not isinstance(manifest, dict):
        raise DgfasError(f"{path}: not a manifest; {redo}")
    if manifest.get("format") != FORMAT_VERSION:
        raise DgfasError(f"{folder}: frame cache of format {manifest.get('format', 1)}, this dgfas reads "
                         f"format {FORMAT_VERSION}; {redo}")
    if not (isinstance(manifest.get("frames"), int) and isinstance(manifest.get("size"), int)
            and isinstance(manifest.get("fingerprint"), str)):
        raise DgfasError(f"{path}: not a manifest; {redo}")
    return manifest


def is_complete(folder: Path, index: CorpusIndex) -> bool:
    """Whether ``folder`` holds finished arrays, in this format, made from this index's videos."""
    try:
        manifest = read_manifest(folder)
    except DgfasError:
        return False
    return manifest["index"] == index_digest(index, [entry["video"] for entry in read_journal(folder)])


def frame_arrays(folder: Path) -> dict[str, np.ndarray]:
    """A finished cache's ``FRAME_ARRAYS``, memory-mapped; a damaged file is a one-line error naming it.

    Each file's header and size are checked against the manifest first
    (:func:`dgfas.data.npy_files.npy_problem`), so a truncated array or
    one of the wrong shape or dtype is never mapped. A cache is not rebuilt
    here: preparing it again takes the corpus's videos and hours.
    """
    manifest = read_manifest(folder)
    shapes = frame_shapes(manifest["size"])
    arrays = {}
    for name, dtype in FRAME_ARRAYS.items():
        path = consolidated_folder(folder) / f"{name}.npy"
        problem = npy_problem(path, dtype, (manifest["frames"], *shapes[name]))
        if problem is not None:
            raise DgfasError(f"{problem}; the prepared frames are damaged: delete {folder} and prepare the corpus "
                             "again")
        try:
            arrays[name] = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as error:
            raise DgfasError(f"{path}: unreadable ({error}); delete {folder} and prepare the corpus again") from None
    return arrays


def verify_cache(folder: Path) -> list[str]:
    """Every problem of a finished cache, one line each, reading all of it.

    The cheap checks of every open first; then the frame table and the
    journal against the manifest's fingerprint, and each video's rows of
    every array against the digest the journal wrote with them, so a changed
    byte is traced to its video. An unfinished cache has none: nothing a
    run would load yet. One of another format is named, as no run can load
    it and, unlike a synthetic one, nothing prepares it again unasked.
    """
    frames_folder = consolidated_folder(folder)
    if not (frames_folder / "manifest.json").is_file():
        return []
    try:
        manifest = read_manifest(folder)
        arrays = frame_arrays(folder)
    except DgfasError as error:
        return [str(error)]
    entries = read_journal(folder)
    problems = []
    fingerprint = hashlib.sha256(f"dgfas frame cache format {FORMAT_VERSION}\n".encode())
    try:
        fingerprint.update((frames_folder / "frames.csv").read_bytes())
    except OSError as error:
        problems.append(f"{frames_folder / 'frames.csv'}: unreadable ({error.strerror or error})")
    for entry in entries:
        fingerprint.update(entry["digest"].encode())
    if not problems and fingerprint.hexdigest() != manifest["fingerprint"]:
        problems.append(f"{frames_folder}: frames.csv or journal.jsonl differ from the fingerprint in manifest.json")
    if sum(entry["rows"] for entry in entries) != manifest["frames"]:
        problems.append(f"{frames_folder / 'journal.jsonl'}: does not name the {manifest['frames']} frames of the "
                        "manifest")
        return problems
    files = ", ".join(f"{name}.npy" for name in FRAME_ARRAYS)
    for entry, rows in row_ranges(entries):
        digest = hashlib.sha256()
        for array in arrays.values():
            digest.update(np.ascontiguousarray(array[rows]))
        if digest.hexdigest() != entry["digest"]:
            problems.append(f"{frames_folder}: the frames of {entry['video']} (rows {rows.start}-{rows.stop - 1} of "
                            f"{files}) differ from the digest written with them")
    return problems


def load_consolidated(folder: Path, corpus: str) -> FrameSet:
    """Every prepared frame of a corpus, its origin named by the fingerprint written with it.

    The pixel arrays are memory maps, read only where a run samples; the
    fingerprint (sha256 hex of images, maps, labels and ids) is the one
    ``manifest.json`` recorded when the arrays were written, so nothing is
    hashed here.
    """
    manifest = read_manifest(folder)
    try:
        table = pd.read_csv(consolidated_folder(folder) / "frames.csv", keep_default_na=False)
    except (OSError, ValueError) as error:
        raise DgfasError(f"{folder}: unreadable frame table ({error}); delete the folder and prepare the corpus "
                         "again") from None
    arrays = frame_arrays(folder)
    if len(table) != manifest["frames"]:  # the arrays' lengths are checked as they are opened
        raise DgfasError(f"{folder}: the frame table does not hold the {manifest['frames']} frames its manifest "
                         "names; delete the folder and prepare the corpus again")
    return FrameSet(
        domain=corpus,
        images=arrays["images"],
        label=(table["label"].to_numpy() == "live").astype(np.int64),
        attack_type=table["attack_type"].to_numpy(dtype=str),
        video_id=(corpus + "/" + table["relative_path"]).to_numpy(dtype=str),
        frame=table["frame"].to_numpy(dtype=np.int64),
        subject=table["subject"].to_numpy(dtype=np.int64),
        split=table["split"].to_numpy(dtype=str),
        depth=arrays["depth"],
        parsing=arrays["parsing"],
        reflection=arrays["reflection"],
        origin=Origin.whole(manifest["fingerprint"], manifest["frames"]),
    )


def row_ranges(entries: list[dict]) -> Iterator[tuple[dict, slice]]:
    """Each journaled video with the rows it holds."""
    start = 0
    for entry in entries:
        yield entry, slice(start, start + entry["rows"])
        start += entry["rows"]
