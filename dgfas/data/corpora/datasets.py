"""The real corpora as datasets of the trainer, which the ``real`` data source binds to O, C, I, M, S.

A corpus is indexed, prepared into the frame cache on first use (the same
code path as ``dgfas data prepare``, so a corpus prepared beforehand with the
same settings is found, not redone) and loaded as memory-mapped arrays. A
run whose crops are smaller than those of a corpus already prepared resizes
that cache's frames (once, into a cache of its own) rather than decoding the
videos again, and says so.

Source validation needs a dev split, and CASIA-FASD, MSU-MFSD and SiW ship
none. For them, one train subject in five (every fifth in id order) is held
out as ``dev``, subject-disjoint from the rest of train, as DomainBed holds
out 20% of each training domain for training-domain validation. Their test
split, which is what a target domain is scored on, is the corpus's own.
Corpora that ship a dev split (OULU-NPU, Replay-Attack) keep it as is.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from dgfas.data.corpora import casia, msu, oulu, replay, siw  # noqa: F401  (the adapters register themselves)
from dgfas.data.corpora.cache import load_consolidated
from dgfas.data.corpora.cache_identity import PrepareConfig
from dgfas.data.corpora.index import CORPORA, CorpusIndex, index_corpus
from dgfas.data.frames import SPLITS, FrameSet
from dgfas.data.registry import DataOptions, register_dataset, register_video_table
from dgfas.errors import DgfasError

#: One train subject in this many becomes dev, for corpora that ship no dev split.
DEV_HOLDOUT_EVERY = 5


def held_out_split(split: np.ndarray, subject: np.ndarray, corpus: str) -> np.ndarray:
    """``split`` of a corpus without a dev split, with every fifth train subject (by id) moved to ``dev``;
    a corpus that ships one keeps it. Per frame or per video alike, so frames and video tables agree."""
    if (split == "dev").any():
        return split
    train_subjects = np.unique(subject[split == "train"])
    if len(train_subjects) < 2:
        raise DgfasError(f"{corpus}: {len(train_subjects)} train subject(s); holding out a dev split needs two")
    held_out = train_subjects[::DEV_HOLDOUT_EVERY]
    split = split.copy()
    split[(split == "train") & np.isin(subject, held_out)] = "dev"
    return split


def hold_out_dev(frames: FrameSet) -> FrameSet:
    """Give a corpus without a dev split one (:func:`held_out_split`)."""
    frames.split = held_out_split(frames.split, frames.subject, frames.domain)
    return frames


@functools.lru_cache(maxsize=8)
def prepared_frames(corpus: str, root: str, options: DataOptions) -> FrameSet:
    """Index, prepare what is missing, load: one corpus at the options' crop size and frames per video.

    The frames' origin carries the fingerprint recorded in the cache, so a run never hashes the corpus.
    """
    from dgfas.data.corpora.prepare import prepare_corpus

    index = index_corpus(corpus, root)
    config = PrepareConfig(frames_per_video=options.frames_per_video, size=options.image_size)
    result = prepare_corpus(index, options.cache_dir, config, workers=options.workers, progress=options.progress,
                            derive=True)
    if result.prepared_now:
        print(result.summary(), file=sys.stderr)
    if result.derived_from is not None:
        print(f"{corpus}: using {result.folder}, {config.size} px crops resized from {result.derived_from}",
              file=sys.stderr)
    return hold_out_dev(load_consolidated(result.folder, corpus))


def load_corpus(corpus: str, split: str | None = None, *, options: DataOptions) -> FrameSet:
    """A real corpus's frames (``split=None``: every split); its root comes from ``options.roots``."""
    if split is not None and split not in SPLITS:
        raise DgfasError(f"unknown split '{split}'; valid: {list(SPLITS)}")
    roots = dict(options.roots)
    if corpus not in roots:
        raise DgfasError(f"dataset '{corpus}' needs its folder: pass --root {corpus}=/path/to/{corpus}")
    frames = prepared_frames(corpus, str(Path(roots[corpus]).resolve()), options)
    return frames if split is None else frames.split_rows(split)


def corpus_video_table(corpus: str, options: DataOptions) -> pd.DataFrame:
    """A real corpus's index (:meth:`CorpusIndex.table`) with each video's ``video_id`` and ``split`` as its frames
    carry them (a corpus without a dev split gets the frames' held-out one)."""
    roots = dict(options.roots)
    if corpus not in roots:
        raise DgfasError(f"dataset '{corpus}' needs its folder: pass --root {corpus}=/path/to/{corpus}")
    return index_video_table(index_corpus(corpus, Path(roots[corpus]).resolve()))


def index_video_table(index: CorpusIndex) -> pd.DataFrame:
    """``index``'s table with each video's ``video_id`` and ``split`` as its frames carry them: what a run
    selects from and what ``dgfas data index --protocol`` writes, so the two select alike."""
    table = index.table()
    split = held_out_split(table["split"].to_numpy(dtype=str), table["subject"].to_numpy(), index.corpus)
    return table.assign(video_id=index.corpus + "/" + table["relative_path"], split=split)


for _corpus in CORPORA.names():
    register_dataset(_corpus)(functools.partial(load_corpus, _corpus))
    register_video_table(_corpus)(functools.partial(corpus_video_table, _corpus))
