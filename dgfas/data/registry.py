"""The dataset registry: name -> loader returning a :class:`FrameSet`.

A loader is a callable ``loader(split, *, options: DataOptions) -> FrameSet``.
Synthetic domains and (later) real corpora register here under their own
names; protocols never name datasets directly but domain letters, bound to
datasets by a data source (see :mod:`dgfas.data.sources`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from dgfas.data.frames import FrameSet
from dgfas.registry import Registry


@dataclass(frozen=True)
class DataOptions:
    """What a loader needs beyond the split: where to cache and how big.

    Attributes:
        cache_dir: root of the frame cache (outside git).
        image_size: side of the square face crops, in pixels.
        scale: named dataset size, e.g. ``tiny`` (tests), ``quick``, ``paper``.
        seed: generation seed for synthetic data (ignored by real corpora).
        workers: processes used to build a missing cache.
        progress: show a progress bar while building a cache.
        roots: (corpus, folder) pairs: where the real corpora lie (ignored
            by synthetic data); a tuple so the options stay hashable.
        frames_per_video: frames a real corpus is prepared with (ignored by
            synthetic data); protocols then sample from these.
    """

    cache_dir: Path
    image_size: int = 64
    scale: str = "quick"
    seed: int = 0
    workers: int = 2
    progress: bool = True
    roots: tuple[tuple[str, str], ...] = ()
    frames_per_video: int = 10


DatasetLoader = Callable[..., FrameSet]

DATASETS: Registry[DatasetLoader] = Registry("dataset")
register_dataset = DATASETS.register
get_dataset = DATASETS.get

#: A dataset's videos, one row each: ``video_id`` (as its frames carry it), ``split``, ``label``,
#: ``attack_type``, ``subject`` and the metadata intra protocols select by (``phone``, ``session``,
#: ``instrument``, ...): ``video_table(options) -> DataFrame``.
VideoTable = Callable[[DataOptions], pd.DataFrame]

VIDEO_TABLES: Registry[VideoTable] = Registry("dataset with a video table")
register_video_table = VIDEO_TABLES.register
