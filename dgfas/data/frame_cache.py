"""A folder of plain ``.npy`` arrays holding one domain's frames, opened memory-mapped.

Layout of a cache folder::

    images.npy  depth.npy  parsing.npy  reflection.npy    (N, ...) pixel arrays, memory-mapped when read
    label.npy  attack_type.npy  video_id.npy  frame.npy  subject.npy  split.npy  pulse.npy
    manifest.json                                          written last: format, domain, counts, fingerprint

:class:`FrameCacheWriter` appends frames a video at a time with plain file
writes (a header first, then rows: :mod:`dgfas.data.npy_files`), so writing
holds one video in memory however large the cache, and the dirty pages are
the page cache's, not the process's. It writes into ``<folder>.partial`` and renames that to
``<folder>`` after the manifest, so a folder with a manifest of the current
format is complete; anything else is written again. The fingerprint (sha256
of every array's bytes) is computed while writing and stored in the
manifest, so runs read it instead of hashing the corpus.

Every open checks each array's header and size against the manifest
(:func:`npy_problem`: a truncated file, a header that does not parse, the
wrong shape or dtype), which reads a few hundred bytes whatever the array's
size; a folder that fails is named in one line, deleted and built again,
never loaded. A changed byte inside an array passes those checks: the
digests in the manifest catch it, read by ``dgfas data verify``
(:func:`verify_frame_cache`), which reads every byte.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from dgfas.atomic import atomic_write, atomic_write_text
from dgfas.data.frames import PIXEL_FIELDS, FrameSet, Origin, encode_unit_map
from dgfas.data.npy_files import NpyAppender, data_digest, npy_problem
from dgfas.errors import DgfasError

#: Bump whenever the layout or an array's encoding changes; folders of another format are written again.
CACHE_FORMAT = 1

MANIFEST = "manifest.json"

#: Per-frame columns, read into memory (a few bytes a frame).
COLUMNS = {"label": np.int64, "attack_type": str, "video_id": str, "frame": np.int64, "subject": np.int64,
           "split": str}

#: Optional per-frame maps and their stored dtypes (see :func:`dgfas.data.frames.encode_unit_map`).
MAPS = {"depth": np.uint8, "parsing": np.uint8, "reflection": np.uint8, "pulse": np.float32}


def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest if it is complete, of the current format and passes the cheap checks, else None.

    A damaged folder (an unreadable manifest, or an array that fails
    :func:`npy_problem`) is named in one line on stderr and deleted: the
    synthetic builder writes every folder this returns None for, so the
    damaged arrays are built again, never loaded.
    """
    manifest, problem = _read_manifest_file(folder)
    if manifest is not None and problem is None:
        problem = next(iter(array_problems(folder, manifest).values()), None)
    if problem is not None:
        shutil.rmtree(folder, ignore_errors=True)
        print(f"dgfas: {problem}; deleted the damaged frame cache {folder} to build it again", file=sys.stderr)
        return None
    return manifest


#: What a manifest of the current format holds, with the type of each entry.
_MANIFEST_KEYS = {"format": int, "domain": str, "frames": int, "size": int, "maps": list, "fingerprint": str,
                  "sha256": dict}


def _read_manifest_file(folder: Path) -> tuple[dict | None, str | None]:
    """(manifest, None) for a complete folder of the current format; (None, None) for a folder without
    a manifest (never written, or interrupted) or of another format; (None, problem) for a damaged one."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
    except (FileNotFoundError, NotADirectoryError):  # never written; or a file where a folder should be,
        return None, None                              # which the builder then names when it cannot write there
    except OSError as error:
        return None, f"{path}: unreadable ({error.strerror or error})"
    except ValueError:
        return None, f"{path}: not JSON"
    if isinstance(manifest, dict) and manifest.get("format", CACHE_FORMAT) != CACHE_FORMAT:
        return None, None
    typed = isinstance(manifest, dict) and all(isinstance(manifest.get(key), kind)
                                               for key, kind in _MANIFEST_KEYS.items())
    if not (typed and set(manifest["maps"]) <= set(MAPS) and manifest["frames"] >= 1):
        return None, f"{path}: not a frame cache manifest"
    return manifest, None


def expected_arrays(manifest: dict) -> dict[str, tuple[type, tuple[int, ...]]]:
    """Each array file of a folder with this manifest: its dtype (``str``: text of any length) and shape."""
    frames, shapes = manifest["frames"], {**frame_shapes(manifest["size"]), "pulse": ()}
    pixels = {"images": np.uint8, **{name: MAPS[name] for name in manifest["maps"]}}
    return {**{name: (dtype, (frames, *shapes[name])) for name, dtype in pixels.items()},
            **{name: (dtype, (frames,)) for name, dtype in COLUMNS.items()}}


def array_problems(folder: Path, manifest: dict) -> dict[str, str]:
    """The arrays of a complete folder that fail :func:`npy_problem`, by name, with what is wrong."""
    problems = {}
    for name, (dtype, shape) in expected_arrays(manifest).items():
        problem = npy_problem(folder / f"{name}.npy", dtype, shape)
        if problem is not None:
            problems[name] = problem
    return problems


def frame_shapes(size: int) -> dict[str, tuple[int, ...]]:
    """The shape of one frame's row of each pixel array, at crop side ``size``."""
    return {"images": (size, size, 3), "depth": (size, size), "parsing": (size, size), "reflection": (size, size, 3)}


class FrameCacheWriter:
    """Writes one domain's frames into a cache folder, video by video.

    Use as a context manager; :meth:`append` each video's frames, in order.
    On leaving without an error the arrays are checked to hold the announced
    number of frames and the manifest is written; on an error the partial
    folder is removed (and if that fails too, the next writer removes it).

    Args:
        folder: the cache folder to make (it must not exist complete).
        domain: dataset name stored in the manifest and the frames.
        frames: total number of frames that will be appended.
        size: side of the square images and maps.
        maps: which of :data:`MAPS` the cache holds.
    """

    def __init__(self, folder: Path, domain: str, frames: int, size: int, maps: tuple[str, ...] = tuple(MAPS)) -> None:
        unknown = sorted(set(maps) - set(MAPS))
        if unknown:
            raise ValueError(f"unknown maps {unknown}; valid: {list(MAPS)}")
        if frames < 1:
            raise ValueError(f"a frame cache holds at least one frame, not {frames}")
        self.folder, self.domain, self.frames, self.size, self.maps = folder, domain, frames, size, maps
        self.partial = folder.with_name(folder.name + ".partial")
        self.columns: dict[str, list[np.ndarray]] = {name: [] for name in COLUMNS}
        self.arrays: dict[str, NpyAppender] = {}

    def __enter__(self) -> "FrameCacheWriter":
        try:
            for stale in (self.partial, self.folder):
                if stale.exists():
                    shutil.rmtree(stale)
            self.partial.mkdir(parents=True)
            for name in ("images", *self.maps):
                dtype = np.uint8 if name == "images" else MAPS[name]
                row_shape = {**frame_shapes(self.size), "pulse": ()}[name]
                self.arrays[name] = NpyAppender(self.partial / f"{name}.npy", dtype, row_shape, self.frames)
        except OSError as error:
            self._close_files()
            raise DgfasError(f"cannot write frame cache {self.folder}: {error.strerror or error}") from None
        return self

    def append(self, images: np.ndarray, **fields: np.ndarray) -> None:
        """One video's (or any run of) frames: ``images`` (n, S, S, 3) uint8, every column of
        :data:`COLUMNS` and every map the cache holds, each with n rows. Depth and reflection
        may be floats in [0, 1]; they are stored as uint8."""
        expected = set(COLUMNS) | set(self.maps)
        if set(fields) != expected:
            raise ValueError(f"append needs {sorted(expected)}, got {sorted(fields)}")
        n = len(images)
        if any(len(value) != n for value in fields.values()):
            raise ValueError(f"append: columns of {sorted({len(v) for v in fields.values()})} rows for {n} images")
        self.arrays["images"].append(images)
        for name in self.maps:
            value = fields[name]
            if name in ("depth", "reflection"):
                value = encode_unit_map(value)
            elif name == "pulse":
                value = np.asarray(value, np.float32)
            self.arrays[name].append(value)
        for name in COLUMNS:
            self.columns[name].append(np.asarray(fields[name]))

    def __exit__(self, kind, error, traceback) -> None:
        finished = False
        try:
            if kind is None:
                self._finish()
                finished = True
        finally:
            self._close_files()
            if not finished:
                # the error that brought us here is the one to report; the next writer retries the removal
                shutil.rmtree(self.partial, ignore_errors=True)

    def _finish(self) -> None:
        short = {name: array.written for name, array in self.arrays.items() if array.written != self.frames}
        if short:
            raise ValueError(f"frame cache {self.folder}: {short} rows written, {self.frames} announced")
        try:
            for array in self.arrays.values():  # on disk before a manifest says they are
                array.file.flush()
                os.fsync(array.file.fileno())
            self._close_files()
            digests = {name: array.digest.hexdigest() for name, array in self.arrays.items()}
            for name, dtype in COLUMNS.items():
                values = np.concatenate(self.columns[name])
                values = values.astype(dtype) if dtype is not str else values.astype(str)
                atomic_write(self.partial / f"{name}.npy",
                             functools.partial(np.lib.format.write_array, array=values, allow_pickle=False))
                digests[name] = hashlib.sha256(_column_bytes(values)).hexdigest()
            fingerprint = hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()
            manifest = {"format": CACHE_FORMAT, "domain": self.domain, "frames": self.frames, "size": self.size,
                        "maps": list(self.maps), "fingerprint": fingerprint, "sha256": digests}
            atomic_write_text(self.partial / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
            self.partial.rename(self.folder)
        except OSError as error:
            raise DgfasError(f"cannot write frame cache {self.folder}: {error.strerror or error}") from None

    def _close_files(self) -> None:
        for array in self.arrays.values():
            array.file.close()


def _column_bytes(values: np.ndarray) -> bytes:
    if values.dtype.kind == "U":
        return "\n".join(values.tolist()).encode()
    return values.tobytes()


def read_frame_cache(folder: Path) -> FrameSet:
    """The frames of a complete cache folder: pixel arrays memory-mapped read-only, columns in memory."""
    manifest = read_manifest(folder)
    if manifest is None:
        raise DgfasError(f"{folder} is not a complete frame cache of format {CACHE_FORMAT}; build it again")
    arrays = {}
    try:
        for name in expected_arrays(manifest):
            arrays[name] = np.load(folder / f"{name}.npy", mmap_mode="r" if name in PIXEL_FIELDS else None,
                                   allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DgfasError(f"cannot read frame cache {folder}: {error}") from None
    return FrameSet(domain=manifest["domain"], **arrays, origin=Origin.whole(manifest["fingerprint"], manifest["frames"]))


def verify_frame_cache(folder: Path) -> list[str]:
    """Every problem of a frame-cache folder, one line each, reading all of it: the cheap checks of
    every open, then each array's bytes and the fingerprint against the digests written with them.

    A folder without a manifest, or of another format, has none: it holds nothing yet that a run would load.
    """
    manifest, problem = _read_manifest_file(folder)
    if problem is not None:
        return [problem]
    if manifest is None:
        return []
    problems = array_problems(folder, manifest)
    recorded = manifest["sha256"]
    for name, (dtype, _) in expected_arrays(manifest).items():
        if name in problems:
            continue
        path = folder / f"{name}.npy"
        try:
            digest = _text_digest(path) if dtype is str else data_digest(path)
        except (OSError, ValueError) as error:
            problems[name] = f"{path}: unreadable ({error})"
            continue
        if digest != recorded.get(name):
            problems[name] = f"{path}: its data differs from the sha256 written with it in {MANIFEST}"
    fingerprint = hashlib.sha256(json.dumps(recorded, sort_keys=True).encode()).hexdigest()
    if fingerprint != manifest["fingerprint"] or set(recorded) != set(expected_arrays(manifest)):
        problems[MANIFEST] = f"{folder / MANIFEST}: its digests do not make its fingerprint"
    return list(problems.values())


def _text_digest(path: Path) -> str:
    """sha256 of a text column as the writer hashed it (:func:`_column_bytes`)."""
    return hashlib.sha256(_column_bytes(np.load(path, allow_pickle=False))).hexdigest()
