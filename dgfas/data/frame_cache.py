"""A folder of plain ``.npy`` arrays holding one domain's frames, opened memory-mapped.

Layout of a cache folder::

    images.npy  depth.npy  parsing.npy  reflection.npy    (N, ...) pixel arrays, memory-mapped when read
    label.npy  attack_type.npy  video_id.npy  frame.npy  subject.npy  split.npy  pulse.npy
    manifest.json                                          written last: format, domain, counts, fingerprint

:class:`FrameCacheWriter` appends frames a video at a time with plain file
writes (a header first, then rows), so writing holds one video in memory
however large the cache, and the dirty pages are the page cache's, not the
process's. It writes into ``<folder>.partial`` and renames that to
``<folder>`` after the manifest, so a folder with a manifest of the current
format is complete; anything else is written again. The fingerprint (sha256
of every array's bytes) is computed while writing and stored in the
manifest, so runs read it instead of hashing the corpus.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import BinaryIO

import numpy as np

from dgfas.atomic import atomic_write, atomic_write_text
from dgfas.data.frames import PIXEL_FIELDS, FrameSet, Origin, encode_unit_map
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
    """The folder's manifest if it is complete and of the current format, else None."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != CACHE_FORMAT:
        return None
    return manifest


def frame_shapes(size: int) -> dict[str, tuple[int, ...]]:
    """The shape of one frame's row of each pixel array, at crop side ``size``."""
    return {"images": (size, size, 3), "depth": (size, size), "parsing": (size, size), "reflection": (size, size, 3)}


def npy_header(dtype: type, shape: tuple[int, ...]) -> bytes:
    """A ``.npy`` header; numpy pads it so that any row count up to 21 digits gives the same length, which
    lets a growing array's header be rewritten in place."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape})
    return buffer.getvalue()


class _Appender:
    """One ``.npy`` file whose header promises ``rows`` rows, filled by appending."""

    def __init__(self, path: Path, dtype: type, row_shape: tuple[int, ...], rows: int) -> None:
        self.dtype, self.row_shape, self.rows, self.written = np.dtype(dtype), row_shape, rows, 0
        self.digest = hashlib.sha256()
        self.file: BinaryIO = open(path, "wb")
        self.file.write(npy_header(self.dtype, (rows, *row_shape)))

    def append(self, values: np.ndarray) -> None:
        if values.shape[1:] != self.row_shape or values.dtype != self.dtype:
            raise ValueError(f"{self.file.name}: rows of {values.dtype} {values.shape[1:]}, "
                             f"expected {self.dtype} {self.row_shape}")
        if self.written + len(values) > self.rows:
            raise ValueError(f"{self.file.name}: more than the {self.rows} rows announced")
        data = np.ascontiguousarray(values)
        self.digest.update(data)
        self.file.write(data.data)
        self.written += len(values)


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
        self.arrays: dict[str, _Appender] = {}

    def __enter__(self) -> "FrameCacheWriter":
        try:
            for stale in (self.partial, self.folder):
                if stale.exists():
                    shutil.rmtree(stale)
            self.partial.mkdir(parents=True)
            for name in ("images", *self.maps):
                dtype = np.uint8 if name == "images" else MAPS[name]
                row_shape = {**frame_shapes(self.size), "pulse": ()}[name]
                self.arrays[name] = _Appender(self.partial / f"{name}.npy", dtype, row_shape, self.frames)
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
        for name in ("images", *manifest["maps"], *COLUMNS):
            arrays[name] = np.load(folder / f"{name}.npy", mmap_mode="r" if name in PIXEL_FIELDS else None,
                                   allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DgfasError(f"cannot read frame cache {folder}: {error}") from None
    wrong = sorted(name for name, values in arrays.items() if len(values) != manifest["frames"])
    if wrong:
        raise DgfasError(f"frame cache {folder}: {wrong} do not hold the manifest's {manifest['frames']} frames")
    return FrameSet(domain=manifest["domain"], **arrays, origin=Origin.whole(manifest["fingerprint"], manifest["frames"]))
