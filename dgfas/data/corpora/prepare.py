"""``dgfas data prepare``: decode, find the face, crop, label and cache every video of a corpus.

The videos are prepared one by one (:mod:`dgfas.data.corpora.video_preparer`)
and appended to the cache's arrays in index order
(:class:`dgfas.data.corpora.cache_writer.FrameWriter`), so the arrays come
out the same with any number of workers and an interrupted run resumes where
its journal ends. A run that asks for crops smaller than a finished cache's
gets them resized from it (:func:`dgfas.data.corpora.derive.derive_cache`),
without decoding.

What happens to a video with no face in any frame (``no_face``) is recorded
in the cache folder's ``config.json``, so a later run (a training run
preparing what is missing) keeps it. Every fallback is named, by video, in
:meth:`dgfas.data.corpora.prepare_report.PrepareResult.summary` and in
``report.csv``.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pandas as pd

from dgfas.atomic import atomic_write_text
from dgfas.data.corpora.cache import consolidated_folder, is_complete, read_journal, read_manifest
from dgfas.data.corpora.cache_identity import PrepareConfig, cache_folder, cache_identity, config_of
from dgfas.data.corpora.cache_writer import FrameWriter
from dgfas.data.corpora.derive import derive_cache, larger_cache
from dgfas.data.corpora.index import CorpusIndex
from dgfas.data.corpora.prepare_report import PrepareResult, left_out_for_no_face, no_face_found, write_report
from dgfas.data.corpora.video_preparer import DEFAULT_NO_FACE, NO_FACE_POLICIES, prepared_in_order
from dgfas.errors import DgfasError


def _write_config(folder: Path, index: CorpusIndex, identity: dict, **recorded) -> None:
    """``config.json``: the folder's identity (what :func:`larger_cache` matches), the corpus root it came from,
    and what else a later run must keep (``no_face``)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        config = {**config_of(folder), "identity": identity, "root": str(index.root), **recorded}
        atomic_write_text(folder / "config.json", json.dumps(config, indent=1, sort_keys=True))
    except OSError as error:
        raise DgfasError(f"cannot write frame cache {folder}: {error.strerror or error}") from None


def prepare_corpus(
    index: CorpusIndex,
    cache_dir: Path,
    config: PrepareConfig | None = None,
    *,
    no_face: str | None = None,
    workers: int = 2,
    device: str = "cpu",
    progress: bool = True,
    derive: bool = False,
) -> PrepareResult:
    """Prepare every video of ``index`` not yet in the cache, appending each to its arrays, then finish them.

    Args:
        index: the corpus's videos (``dgfas.data.corpora.index_corpus``).
        cache_dir: root of the frame cache.
        config: frames per video, crop size, margin (defaults if None).
        no_face: what happens to a video with no face in any frame (``NO_FACE_POLICIES``); None keeps the
            choice the cache folder was prepared with, else ``DEFAULT_NO_FACE``.
        workers: processes, each with its own detector and labeller.
        device: torch device of the face detector.
        progress: show a progress bar.
        derive: when nothing is prepared at this crop size yet but a finished
            cache of larger crops (same corpus, frames per video and margin,
            and ``no_face`` if given) exists, resize its frames instead of decoding the videos.

    Returns:
        The cache folder and one report row per video.

    Raises:
        DgfasError: ``no_face`` is not a policy; ``skip`` is asked of a cache holding videos cropped at the
            centre; no video could be prepared.
    """
    from tqdm import tqdm

    if no_face is not None and no_face not in NO_FACE_POLICIES:
        raise DgfasError(f"--no-face must be one of {', '.join(NO_FACE_POLICIES)}, got {no_face!r}")
    started = time.perf_counter()
    config = config or PrepareConfig()
    folder = cache_folder(cache_dir, index.corpus, config)
    entries = read_journal(folder)
    if derive and not entries:
        source = larger_cache(cache_dir, index, config)
        if source is not None and no_face in (None, config_of(source).get("no_face")):
            return _derived(index, cache_dir, config, source, started)
    no_face = no_face or config_of(folder).get("no_face", DEFAULT_NO_FACE)
    indexed = {v.relative_path for v in index.videos}
    left_corpus = tuple(entry["video"] for entry in entries if entry["video"] not in indexed)
    if left_corpus:
        # a video left the corpus: its frames cannot be cut out of the arrays, so they are made again
        shutil.rmtree(consolidated_folder(folder))
        entries = []
    centred = [entry["video"] for entry in entries if no_face_found(entry["report"])]
    if no_face == "skip" and centred:
        raise DgfasError(f"{folder}: {len(centred)} video(s) in this cache had no face and were cropped at the "
                         f"centre (--no-face centre), e.g. {centred[0]}; prepare with --no-face centre, or delete "
                         "the folder to prepare without them")
    _write_config(folder, index, cache_identity(index.corpus, config), no_face=no_face)
    rows = {entry["video"]: entry["report"] for entry in entries}
    if no_face == "skip":  # a video an earlier run left out for want of a face is not decoded again
        rows = {**left_out_for_no_face(folder, indexed), **rows}
    todo = [entry for entry in index.videos if entry.relative_path not in rows]
    prepared_now = frames_now = 0
    complete = is_complete(folder, index)  # only an append changes it, and an append is followed by finish()
    if todo or not complete:
        bar = tqdm(total=len(index.videos), initial=len(rows), desc=f"prepare {index.corpus}", unit="video",
                   disable=not progress)
        with FrameWriter(folder, config.size) as writer:
            try:
                for row, arrays, meta in prepared_in_order(todo, index.root, config, workers, device, no_face):
                    rows[row["relative_path"]] = row
                    if arrays is not None:
                        writer.append(row["relative_path"], arrays, meta, row)
                        prepared_now += 1
                        frames_now += row["frames"]
                    bar.update(1)
            finally:
                bar.close()
            report = write_report(index, rows, folder)
            if not writer.entries:
                raise DgfasError(f"{index.root}: no video of {index.corpus} could be prepared; see "
                                 f"{folder / 'report.csv'}")
            if prepared_now or not complete:
                writer.finish(index)
    else:
        report = write_report(index, rows, folder)
    return PrepareResult(folder, report, prepared_now, time.perf_counter() - started, decoded_now=len(todo),
                         frames_now=frames_now, left_corpus=left_corpus)


def _derived(index: CorpusIndex, cache_dir: Path, config: PrepareConfig, source: Path, started: float) -> PrepareResult:
    """The cache of ``config``'s crops resized from ``source``'s, made now unless already made from it."""
    folder = cache_folder(cache_dir, index.corpus, config, derived_from=source.name)
    _write_config(folder, index, cache_identity(index.corpus, config, derived_from=source.name))
    source_fingerprint = read_manifest(source)["fingerprint"]
    if not (is_complete(folder, index) and config_of(folder).get("source_fingerprint") == source_fingerprint):
        derive_cache(source, folder, index, config.size)
    # the source's report: its rows for the videos in its arrays are theirs, its skipped videos are skipped here
    report = pd.read_csv(source / "report.csv", keep_default_na=False)
    atomic_write_text(folder / "report.csv", report.to_csv(index=False, lineterminator="\n"))
    return PrepareResult(folder, report, 0, time.perf_counter() - started, derived_from=source)
