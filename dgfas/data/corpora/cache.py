"""The prepared-frame cache of one real corpus: one set of arrays, appended to video by video.

Preparing a corpus takes hours, so the unit of work and of writing is the
video. Each prepared video's frames are appended to plain ``.npy`` arrays
(``frames/<name>.npy``) with ordinary file writes, then one line naming it is
appended to ``frames/journal.jsonl``; the journal, not the files' length, says
what is written. A preparation killed at any point resumes exactly: bytes
past the journal's last line are cut off and the videos it does not name are
prepared again. Writing never holds more than one video in memory and never
maps the arrays (the dirty pages of a written memory map count as the
writer's resident memory, which is what made joining a large corpus cost as
much memory as the corpus), and each frame is on disk once.

When every video is in, the arrays' headers get their row count, the frame
table ``frames.csv`` is written, and last ``manifest.json``: the format
version, which index the arrays belong to and a sha256 fingerprint of the
prepared data computed while writing, so a run reads it instead of hashing
the corpus. The trainer memory-maps the arrays and reads only the rows a run
samples, after checking each array's header and size against the manifest
(:func:`dgfas.data.frame_cache.npy_problem`); a damaged array is a one-line
error naming it. The per-video digests of the journal are the cache's
checksums: ``dgfas data verify`` (:func:`verify_cache`) reads every frame
against them and names each video whose bytes changed.

Pixel maps are stored as uint8, as the images are: depth and the reflection
layer in [0, 1] are scaled to 0-255 (:func:`dgfas.data.frames.encode_unit_map`; the depth
labels of the field's code bases are 8-bit images too), which halves the
maps against float16; consumers divide by 255.

The cache folder is named by the corpus, the preparation settings, the cache
format and a hash of the preprocessing code and models, so a changed
setting, format or labeller never mixes with crops made before. A cache of
smaller crops can be derived from a prepared one by resizing
(:func:`derive_cache`) instead of decoding and detecting faces again.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
from PIL import Image

import dgfas
from dgfas.atomic import atomic_write_text
from dgfas.data.corpora.faces import MARGIN
from dgfas.data.corpora.index import CorpusIndex
from dgfas.data.frame_cache import frame_shapes, npy_header, npy_problem
from dgfas.data.frames import FrameSet, Origin
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


@dataclass(frozen=True)
class PrepareConfig:
    """What changes the prepared frames (and so names the cache folder).

    Attributes:
        frames_per_video: frames kept per video, spread uniformly over it
            (a shorter video keeps all it has); 0 keeps every frame.
        size: side of the square face crops, in pixels.
        margin: context around the face box on each side, as a fraction of
            the box's longer side.
    """

    frames_per_video: int = 10
    size: int = 256
    margin: float = MARGIN

    def __post_init__(self) -> None:
        if self.frames_per_video < 0:
            raise DgfasError(f"frames per video must be 0 (all) or more, got {self.frames_per_video}")
        if self.size < 16:
            raise DgfasError(f"crop size must be at least 16 pixels, got {self.size}")
        if not 0 <= self.margin <= 1:
            raise DgfasError(f"face margin must be in [0, 1], got {self.margin}")


@functools.lru_cache(maxsize=1)
def preprocessing_hash() -> str:
    """sha256 of everything that shapes a prepared frame: the preprocessing code, the face asset, the mesh model.

    An edit to any of them names a new cache folder, so stale crops or labels
    are never served.
    """
    from dgfas.data.corpora.facemesh import default_model_path

    corpora = Path(__file__).resolve().parent
    synthetic = corpora.parent / "synthetic"
    files = [corpora / name for name in ("cache.py", "prepare.py", "video.py", "faces.py", "facemesh.py", "labels.py")]
    files += [synthetic / "render.py", synthetic / "mesh.py", synthetic / "face_asset.npz"]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    model = default_model_path()
    if model.is_file():
        digest.update(model.read_bytes())
    return digest.hexdigest()[:16]


def cache_identity(corpus: str, config: PrepareConfig, derived_from: str | None = None) -> dict:
    """What names a cache folder: corpus, settings, code, format, and the cache it was resized from (if any)."""
    identity = {"corpus": corpus, **dataclasses.asdict(config), "code": preprocessing_hash(),
                "dgfas": dgfas.__version__, "format": FORMAT_VERSION}
    if derived_from is not None:
        identity["derived_from"] = derived_from
    return identity


def cache_folder(cache_dir: Path, corpus: str, config: PrepareConfig, derived_from: str | None = None) -> Path:
    """``<cache_dir>/real/<corpus>-<hash of cache_identity>``."""
    identity = cache_identity(corpus, config, derived_from)
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return Path(cache_dir) / "real" / f"{corpus}-{key}"


def consolidated_folder(folder: Path) -> Path:
    """Where a cache folder's arrays, journal, frame table and manifest lie."""
    return folder / "frames"


def read_journal(folder: Path) -> list[dict]:
    """The videos whose frames are in a cache's arrays, in row order (one dict per video).

    A line cut short by a killed write, and anything after it, is not part of
    the journal: that video was not committed and is prepared again.
    """
    return _read_journal(consolidated_folder(folder) / "journal.jsonl")[0]


def _read_journal(path: Path) -> tuple[list[dict], int]:
    """The committed entries and the length in bytes of the journal they make up."""
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


class FrameWriter:
    """Appends prepared videos to a cache folder's arrays; opening it resumes exactly where the journal ends.

    Use as a context manager; :meth:`finish` makes the arrays loadable.

    Args:
        folder: the cache folder (its ``frames/`` is created).
        size: crop side of the frames appended.
    """

    def __init__(self, folder: Path, size: int) -> None:
        self.folder = folder
        self.frames_folder = consolidated_folder(folder)
        self.shapes = frame_shapes(size)
        try:
            self.frames_folder.mkdir(parents=True, exist_ok=True)
            journal = self.frames_folder / "journal.jsonl"
            self.entries, length = _read_journal(journal)
            self.rows = sum(entry["rows"] for entry in self.entries)
            self._files = {}
            for name in FRAME_ARRAYS:
                self._files[name] = self._open_array(name)
            self._journal = open(journal, "ab")
            self._journal.truncate(length)
        except OSError as error:
            self.close()
            raise DgfasError(f"cannot write frame cache {folder}: {error.strerror or error}"
                             f"{f' ({error.filename})' if error.filename else ''}") from None
        except DgfasError:
            self.close()
            raise

    def _open_array(self, name: str):
        """One array's file, cut to the rows the journal names and positioned to append."""
        path = self.frames_folder / f"{name}.npy"
        dtype, shape = FRAME_ARRAYS[name], self.shapes[name]
        header = npy_header(dtype, (0, *shape))
        if not path.is_file() and self.rows == 0:
            path.write_bytes(header)
        file = open(path, "r+b")
        try:
            if np.lib.format.read_magic(file) != (1, 0):
                raise ValueError("written by another writer")
            found_shape, _, found_dtype = np.lib.format.read_array_header_1_0(file)
        except (ValueError, OSError):
            file.close()
            raise DgfasError(f"{path}: not a frame array; delete {self.folder} to prepare the corpus again") from None
        expected = len(header) + self.rows * int(np.prod(shape)) * np.dtype(dtype).itemsize
        size = os.fstat(file.fileno()).st_size
        if file.tell() != len(header) or found_dtype != dtype or found_shape[1:] != shape or size < expected:
            file.close()
            raise DgfasError(f"{path}: does not hold the {self.rows} frames of {shape} {np.dtype(dtype)} its journal "
                             f"names; delete {self.folder} to prepare the corpus again")
        file.truncate(expected)
        file.seek(expected)
        return file

    def __enter__(self) -> "FrameWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        for file in [*getattr(self, "_files", {}).values(), getattr(self, "_journal", None)]:
            if file is not None:
                file.close()

    def append(self, video: str, arrays: dict[str, np.ndarray], meta: dict[str, list], report: dict) -> None:
        """Commit one video: its frames go to the end of every array, then its journal line.

        The data is flushed to disk before the line is written, so a journal
        line always names frames that are there.

        Args:
            video: its path relative to the corpus root.
            arrays: ``FRAME_ARRAYS``, each (K, *frame shape) of its dtype.
            meta: ``FRAME_META``, K values each (JSON types).
            report: its row of the preparation report.
        """
        (self.frames_folder / "manifest.json").unlink(missing_ok=True)  # the arrays are about to change
        count = len(arrays["images"])
        digest = hashlib.sha256()
        for name, file in self._files.items():
            array = arrays[name]
            if array.dtype != FRAME_ARRAYS[name] or array.shape != (count, *self.shapes[name]):
                raise ValueError(f"{video}: {name} is {array.dtype} {array.shape}, the cache holds "
                                 f"{np.dtype(FRAME_ARRAYS[name])} ({count}, {self.shapes[name]})")
            data = np.ascontiguousarray(array)
            digest.update(data)
            file.write(data.data)
        for file in self._files.values():
            file.flush()
            os.fsync(file.fileno())
        entry = {"video": video, "rows": count, **{key: list(meta[key]) for key in FRAME_META}, "report": report,
                 "digest": digest.hexdigest()}
        self._journal.write((json.dumps(entry, sort_keys=True) + "\n").encode())
        self._journal.flush()
        os.fsync(self._journal.fileno())
        self.entries.append(entry)
        self.rows += count

    def finish(self, index: CorpusIndex, **provenance) -> dict:
        """Give the arrays their row count, write the frame table, then the manifest; returns the manifest.

        Args:
            index: the corpus index every journaled video is in (for splits and labels).
            provenance: more manifest entries (what a derived cache was made from).
        """
        if not self.entries:
            raise DgfasError(f"{self.folder}: no prepared video to write")
        for name, file in self._files.items():
            header = npy_header(FRAME_ARRAYS[name], (self.rows, *self.shapes[name]))
            file.seek(0)
            file.write(header)
            file.seek(0, os.SEEK_END)
            file.flush()
            os.fsync(file.fileno())
        table = frame_table(index, self.entries).to_csv(index=False, lineterminator="\n")
        atomic_write_text(self.frames_folder / "frames.csv", table)
        fingerprint = hashlib.sha256(f"dgfas frame cache format {FORMAT_VERSION}\n{table}".encode())
        for entry in self.entries:
            fingerprint.update(entry["digest"].encode())
        videos = [entry["video"] for entry in self.entries]
        manifest = {"format": FORMAT_VERSION, "corpus": index.corpus, "index": index_digest(index, videos),
                    "videos": len(videos), "frames": self.rows, "size": self.shapes["images"][0],
                    "fingerprint": fingerprint.hexdigest(), **provenance}
        atomic_write_text(self.frames_folder / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
        return manifest


def frame_table(index: CorpusIndex, entries: list[dict]) -> pd.DataFrame:
    """One row per frame of the journaled videos, in the arrays' order, labelled from the index."""
    by_path = {v.relative_path: v for v in index.videos}
    rows = []
    for entry in entries:
        video = by_path[entry["video"]]
        for frame, source, mesh_found in zip(*(entry[key] for key in FRAME_META)):
            rows.append((video.relative_path, frame, video.split, video.label, video.attack_type, video.subject,
                         source, mesh_found))
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))


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
    (:func:`dgfas.data.frame_cache.npy_problem`), so a truncated array or
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
    for entry, rows in _row_ranges(entries):
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


#: How each array is resized: averaging over the area a new pixel covers (PIL's box filter) for intensities
#: and maps, the nearest source pixel for class ids, which have no average.
RESAMPLING = {"images": Image.Resampling.BOX, "depth": Image.Resampling.BOX, "parsing": Image.Resampling.NEAREST,
              "reflection": Image.Resampling.BOX}


def resize_frames(arrays: dict[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """``FRAME_ARRAYS`` of some frames, resized to ``size`` x ``size``."""
    return {name: np.stack([np.asarray(Image.fromarray(np.asarray(frame)).resize((size, size), RESAMPLING[name]))
                            for frame in arrays[name]])
            for name in FRAME_ARRAYS}


def config_of(folder: Path) -> dict:
    """A cache folder's ``config.json`` (empty when missing or unreadable: such a folder is nobody's source)."""
    try:
        return json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return {}


def larger_cache(cache_dir: Path, index: CorpusIndex, config: PrepareConfig) -> Path | None:
    """The finished cache of this index with the smallest crops larger than ``config.size`` and otherwise
    the same identity (frames per video, margin, code, format), prepared from the videos, not derived itself."""
    wanted = cache_identity(index.corpus, config)
    candidates = []
    for folder in (Path(cache_dir) / "real").glob(f"{index.corpus}-*"):
        identity = config_of(folder).get("identity", {})
        same = {k: v for k, v in identity.items() if k != "size"} == {k: v for k, v in wanted.items() if k != "size"}
        if same and identity["size"] > config.size and is_complete(folder, index):
            candidates.append((identity["size"], folder.name))
    return Path(cache_dir) / "real" / min(candidates)[1] if candidates else None


def derive_cache(source: Path, target: Path, index: CorpusIndex, size: int) -> dict:
    """Fill ``target`` with ``source``'s frames resized to ``size``, video by video; returns its manifest.

    Resumes like preparation does; a target begun from a source that has
    changed since is started over.
    """
    source_manifest = read_manifest(source)
    config = config_of(target)
    if config.get("source_fingerprint") != source_manifest["fingerprint"]:
        shutil.rmtree(consolidated_folder(target), ignore_errors=True)
        config["source_fingerprint"] = source_manifest["fingerprint"]
        atomic_write_text(target / "config.json", json.dumps(config, indent=1, sort_keys=True))
    arrays = frame_arrays(source)
    with FrameWriter(target, size) as writer:
        done = {entry["video"] for entry in writer.entries}
        for entry, rows in _row_ranges(read_journal(source)):
            if entry["video"] not in done:
                resized = resize_frames({name: array[rows] for name, array in arrays.items()}, size)
                writer.append(entry["video"], resized, {key: entry[key] for key in FRAME_META}, entry["report"])
        return writer.finish(index, derived_from=source.name, source_fingerprint=source_manifest["fingerprint"])


def _row_ranges(entries: list[dict]) -> Iterator[tuple[dict, slice]]:
    """Each journaled video with the rows it holds."""
    start = 0
    for entry in entries:
        yield entry, slice(start, start + entry["rows"])
        start += entry["rows"]
