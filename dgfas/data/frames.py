"""The form every dataset is turned into: face crops plus labels.

Real corpora (decoded, detected, cropped) and the synthetic domains both end
up as a :class:`FrameSet`, so the trainer never knows where frames came from.

Pixel arrays come from memory-mapped caches and can be far larger than RAM.
Selecting rows (a split, a few frames per video) and joining domains
therefore never copies them: it gives a :class:`RowView`, and pixels are read
only when a batch indexes it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

#: Face-parsing classes, index = class id in ``FrameSet.parsing``.
PARSING_CLASSES = ("background", "skin", "brows", "eyes", "nose", "lips", "hair")

#: Attack types; ``replay`` means any display (photo or video on a screen).
ATTACK_TYPES = ("none", "print", "replay")

SPLITS = ("train", "dev", "test")

#: Per-pixel arrays: selected and joined as :class:`RowView`, never copied.
PIXEL_FIELDS = ("images", "depth", "parsing", "reflection")


def encode_unit_map(values: np.ndarray) -> np.ndarray:
    """A map with values in [0, 1] as uint8 ``round(clip(v, 0, 1) * 255)``; uint8 input is returned as is.

    Depth and reflection maps are stored this way: a quarter of float32's
    bytes (half of float16's), and no coarser than the 8-bit depth images the
    field's pseudo-depth labels are distributed as. Readers divide by 255.
    """
    if values.dtype == np.uint8:
        return values
    return np.rint(np.clip(np.asarray(values, np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)


class _Rows:
    """Rows drawn from several sources: ``part[i]`` names the source of row i, ``row[i]`` its row there."""

    def __init__(self, sources: tuple[Any, ...], part: np.ndarray, row: np.ndarray) -> None:
        self.sources = sources
        self.part = part
        self.row = row

    def __len__(self) -> int:
        return len(self.row)

    def _positions(self, key: Any) -> np.ndarray:
        """Row positions (any shape, in range, non-negative) that ``key`` picks, as numpy would."""
        n = len(self.row)
        if isinstance(key, slice):
            return np.arange(*key.indices(n))
        index = np.asarray(key)
        if index.dtype == bool:
            if index.shape != (n,):
                raise IndexError(f"boolean index of shape {index.shape} for {n} rows")
            return np.flatnonzero(index)
        if not np.issubdtype(index.dtype, np.integer):
            if index.size:
                raise IndexError(f"rows are indexed by integers, booleans or a slice, not {index.dtype}")
            index = index.astype(np.intp)
        if index.size and (index.min() < -n or index.max() >= n):
            raise IndexError(f"row index out of range for {n} rows")
        return np.where(index < 0, index + n, index)

    def take(self, key: Any) -> "_Rows":
        """The rows ``key`` picks (bool mask, integer indices or slice), lazily."""
        positions = self._positions(key).reshape(-1)
        return type(self)(self.sources, self.part[positions], self.row[positions])

    @classmethod
    def join(cls, pieces: Sequence["_Rows"]) -> "_Rows":
        """``pieces`` one after the other; a source shared by several pieces is listed once."""
        sources: list[Any] = []
        parts = []
        for piece in pieces:
            remap = np.empty(len(piece.sources), np.int32)
            for i, source in enumerate(piece.sources):
                found = next((j for j, known in enumerate(sources) if cls._same(known, source)), None)
                if found is None:
                    sources.append(source)
                    found = len(sources) - 1
                remap[i] = found
            parts.append(remap[piece.part])
        return cls(tuple(sources), np.concatenate(parts).astype(np.int32),
                   np.concatenate([piece.row for piece in pieces]).astype(np.int64))

    @staticmethod
    def _same(a: Any, b: Any) -> bool:
        return a == b


class RowView(_Rows):
    """Rows of one or more (memory-mapped) base arrays, read when indexed.

    Indexing with an integer array (any order or shape, repeats allowed), a
    bool mask, an integer or a slice returns an ``np.ndarray``; the rows of
    each base are read in ascending order, the order in which a memory map
    reads least, and then put in the asked order. ``np.asarray(view)`` reads
    every row. ``len``, ``shape``, ``dtype`` and ``ndim`` are those of the
    array it stands for.
    """

    @classmethod
    def of(cls, array: "np.ndarray | RowView") -> "RowView":
        if isinstance(array, RowView):
            return array
        return cls((array,), np.zeros(len(array), np.int32), np.arange(len(array), dtype=np.int64))

    @staticmethod
    def _same(a: Any, b: Any) -> bool:
        return a is b

    @classmethod
    def concat(cls, arrays: Sequence["np.ndarray | RowView"]) -> "RowView":
        """``arrays`` joined along rows without reading them; they must agree in dtype and row shape."""
        views = [cls.of(a) for a in arrays]
        if len({(v.dtype, v.shape[1:]) for v in views}) > 1:
            raise ValueError(f"cannot join arrays of {sorted({(str(v.dtype), v.shape[1:]) for v in views})}")
        return cls.join(views)

    @property
    def dtype(self) -> np.dtype:
        return self.sources[0].dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.row), *self.sources[0].shape[1:])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):
            raise TypeError("a RowView is indexed by rows only; index the array it returns for the rest")
        if isinstance(key, (int, np.integer)):
            return self[np.array([key])][0]
        positions = self._positions(key)
        return self._read(positions.reshape(-1)).reshape(*positions.shape, *self.shape[1:])

    def _read(self, positions: np.ndarray) -> np.ndarray:
        part, row = self.part[positions], self.row[positions]
        if len(self.sources) == 1:
            return _read_rows(self.sources[0], row)
        out = np.empty((len(positions), *self.shape[1:]), self.dtype)
        for p in np.unique(part):
            where = np.flatnonzero(part == p)
            out[where] = _read_rows(self.sources[p], row[where])
        return out

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError("a RowView's rows can only be read by copying them")
        values = self[slice(None)]
        return values if dtype is None else values.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"RowView(shape={self.shape}, dtype={self.dtype}, bases={len(self.sources)})"


def _read_rows(base: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``base[rows]``, read as one slice when the rows are consecutive, else in ascending order."""
    if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and np.all(np.diff(rows) == 1):
        return np.array(base[rows[0] : rows[-1] + 1])
    order = np.argsort(rows, kind="stable")
    out = np.empty((len(rows), *base.shape[1:]), base.dtype)
    out[order] = base[rows[order]]
    return out


class Origin(_Rows):
    """Which rows of which written caches a frame set holds, named by the caches' fingerprints.

    A cache's fingerprint is computed once, when it is written; with the row
    indices it identifies the frames of any selection without reading a pixel.
    """

    @classmethod
    def whole(cls, fingerprint: str, frames: int) -> "Origin":
        return cls((fingerprint,), np.zeros(frames, np.int32), np.arange(frames, dtype=np.int64))


@dataclass
class FrameSet:
    """Frames of one domain with per-frame labels and optional pixel maps.

    Pixel arrays (``images``, ``depth``, ``parsing``, ``reflection``) are
    numpy arrays (often memory maps of a cache) or :class:`RowView` s of them
    after :meth:`select` or :func:`concat_frames`; index them with rows to
    read pixels. The per-frame columns are plain arrays.

    Attributes:
        domain: dataset name, e.g. ``synth-oulu``.
        images: (N, H, W, 3) uint8 RGB face crops.
        label: (N,) int64, 1 = live (bona fide), 0 = spoof.
        attack_type: (N,) str, one of :data:`ATTACK_TYPES`.
        video_id: (N,) str, unique across domains (prefixed by the domain).
        frame: (N,) int64 frame index within its video.
        subject: (N,) int64 subject id.
        split: (N,) str, one of :data:`SPLITS`.
        depth: (N, H, W) depth in [0, 1], 1 = nearest; zeros for spoofs.
            uint8 (value / 255, see :func:`encode_unit_map`) as caches store
            it; frame sets made in memory may hold floats in [0, 1].
        parsing: (N, H, W) uint8 class ids of :data:`PARSING_CLASSES`.
        reflection: (N, H, W, 3) glare layer in [0, 1]; zeros for lives.
            uint8 (value / 255) as caches store it, like ``depth``.
        pulse: (N,) float32 rPPG ground truth: the live face's pulse
            waveform (zero mean, unit peak) at the frame's time; zeros for
            every spoof, video replays included, as Liu et al. (CVPR 2018)
            supervise spoofs with a flat rPPG signal and as depth is zero
            for them.
        origin: the cache rows these frames are, for :func:`frames_fingerprint`;
            None for frames made in memory (tests), which are hashed instead.
    """

    domain: str
    images: np.ndarray | RowView
    label: np.ndarray
    attack_type: np.ndarray
    video_id: np.ndarray
    frame: np.ndarray
    subject: np.ndarray
    split: np.ndarray
    depth: np.ndarray | RowView | None = None
    parsing: np.ndarray | RowView | None = None
    reflection: np.ndarray | RowView | None = None
    pulse: np.ndarray | None = None
    origin: Origin | None = None

    def __len__(self) -> int:
        return len(self.label)

    def select(self, mask: np.ndarray) -> "FrameSet":
        """Rows where ``mask`` (bool (N,) or integer indices) holds; pixels are not read."""
        picked = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in PIXEL_FIELDS and value is not None:
                picked[field.name] = RowView.of(value).take(mask)
            elif field.name == "origin" and value is not None:
                picked[field.name] = value.take(mask)
            else:
                picked[field.name] = value[mask] if isinstance(value, np.ndarray) else value
        return FrameSet(**picked)

    def split_rows(self, split: str) -> "FrameSet":
        return self.select(self.split == split)


def concat_frames(framesets: list[FrameSet]) -> FrameSet:
    """``framesets`` one after the other; pixels stay where they are (see :class:`RowView`).

    A map that one of them lacks is dropped, and so is the origin when one
    of them was made in memory.
    """
    merged: dict[str, Any] = {}
    for f in dataclasses.fields(FrameSet):
        values = [getattr(fs, f.name) for fs in framesets]
        if f.name == "domain":
            merged[f.name] = "+".join(dict.fromkeys(values))
        elif any(v is None for v in values):
            merged[f.name] = None
        elif f.name in PIXEL_FIELDS:
            merged[f.name] = RowView.concat(values)
        elif f.name == "origin":
            merged[f.name] = Origin.join(values)
        else:
            merged[f.name] = np.concatenate(values)
    return FrameSet(**merged)


def sample_frames(frames: FrameSet, per_video: int) -> FrameSet:
    """Keep ``per_video`` frames per video, evenly spaced; 0 keeps all.

    Short videos keep every frame they have (indices are clamped, never
    repeated), which is where fixed frame offsets of older code broke.
    """
    if per_video == 0:
        return frames
    table = pd.DataFrame({"video": frames.video_id, "frame": frames.frame}).sort_values(["video", "frame"], kind="stable")
    position = table.groupby("video", sort=False).cumcount().to_numpy()
    length = table.groupby("video", sort=False)["frame"].transform("size").to_numpy()
    # Wanted positions per video: round(linspace(0, n - 1, k)); keep a row if it is one of them.
    k = np.minimum(per_video, length)
    wanted = np.zeros(len(table), dtype=bool)
    for j in range(per_video):
        target = np.where(k > 1, np.round(j * (length - 1) / np.maximum(k - 1, 1)), 0).astype(int)
        wanted |= (position == target) & (j < k)
    keep = np.zeros(len(frames), dtype=bool)
    keep[table.index.to_numpy()[wanted]] = True
    return frames.select(keep)


def frames_fingerprint(framesets: list[FrameSet]) -> str:
    """sha256 of the frames a run actually used: their pixels, labels and ids.

    Frames read from caches are named by the caches' fingerprints (computed
    when they were written) and the rows selected from them, so no pixel is
    read and any corpus costs milliseconds; frames made in memory are
    hashed pixel by pixel.
    """
    digest = hashlib.sha256()
    for fs in framesets:
        digest.update(fs.domain.encode())
        if fs.origin is None:
            digest.update(np.ascontiguousarray(fs.images).tobytes())
        else:
            digest.update(json.dumps(fs.origin.sources).encode())
            digest.update(fs.origin.part.astype(np.int64).tobytes())
            digest.update(fs.origin.row.astype(np.int64).tobytes())
        digest.update(fs.label.astype(np.int64).tobytes())
        digest.update("\n".join(fs.video_id.astype(str)).encode())
    return digest.hexdigest()[:16]
