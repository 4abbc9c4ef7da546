"""Writes a real corpus's prepared frames into its cache: appended video by video, committed by a journal line.

Preparing a corpus takes hours, so the unit of work and of writing is the
video. Each prepared video's frames are appended to the plain ``.npy``
arrays with ordinary file writes, then one line naming it is appended to
``frames/journal.jsonl``; the journal, not the files' length, says what is
written. A preparation killed at any point resumes exactly: bytes past the
journal's last line are cut off and the videos it does not name are
prepared again. Writing never holds more than one video in memory and never
maps the arrays (the dirty pages of a written memory map count as the
writer's resident memory, which is what made joining a large corpus cost as
much memory as the corpus), and each frame is on disk once.

When every video is in, :meth:`FrameWriter.finish` gives the arrays' headers
their row count and writes the frame table and last the manifest, whose
fingerprint is computed from what was written (the layout is
:mod:`dgfas.data.corpora.cache`'s).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from dgfas.atomic import atomic_write_text
from dgfas.data.corpora.cache import (
    FORMAT_VERSION,
    FRAME_ARRAYS,
    FRAME_COLUMNS,
    FRAME_META,
    consolidated_folder,
    index_digest,
    journal_entries,
)
from dgfas.data.corpora.index import CorpusIndex
from dgfas.data.frame_cache import frame_shapes
from dgfas.data.npy_files import npy_header
from dgfas.errors import DgfasError


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
            self.entries, length = journal_entries(journal)
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
