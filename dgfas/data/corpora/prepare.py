"""``dgfas data prepare``: decode, find the face, crop, label and cache every video of a corpus.

Per video: decode ``frames_per_video`` frames spread uniformly over it; take
each frame's face box from the corpus's own face-location file when it ships
one, else from MTCNN; a frame without a box borrows the nearest frame's box;
crop a square with a margin, resize, and make the auxiliary labels (depth and
parsing from FaceMesh for lives, a reflection estimate for spoofs). A video
that cannot be decoded is reported and left out; nothing else stops the run.

A video with no face in any frame is left out by default (``no_face="skip"``),
as the field's pipelines keep only frames with a detected face (the code
bases built on SSDG list "all the detected faces"; SiW readers drop frames
whose ``.face`` line is empty); ``no_face="centre"`` crops its centre instead. The
choice is recorded in the cache folder's ``config.json``, so a later run
(a training run preparing what is missing) keeps it. Every fallback is
named, by video, in :meth:`PrepareResult.summary` and in ``report.csv``.

Worker processes return each video's frames to the parent, which appends
them to the cache's arrays in index order (:class:`dgfas.data.corpora.cache.FrameWriter`),
so the arrays come out the same with any number of workers, an interrupted
run resumes where its journal ends, and at most a few videos wait in memory.
A run that asks for crops smaller than a finished cache's gets them resized
from it (:func:`dgfas.data.corpora.cache.derive_cache`), without decoding.
"""

from __future__ import annotations

import collections
import json
import multiprocessing
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dgfas.atomic import atomic_write_text
from dgfas.data.corpora.cache import (
    FACE_SOURCES,
    FrameWriter,
    PrepareConfig,
    cache_folder,
    cache_identity,
    config_of,
    consolidated_folder,
    derive_cache,
    is_complete,
    larger_cache,
    read_journal,
    read_manifest,
)
from dgfas.data.corpora.facemesh import INPUT_SIZE as MESH_INPUT_SIZE
from dgfas.data.corpora.index import CorpusIndex, VideoEntry
from dgfas.errors import DgfasError

#: Columns of ``report.csv``, one row per indexed video. ``status``: ``ok`` (in the arrays), ``unreadable``
#: or ``no_face`` (left out); ``error``: why a video was left out, or a note on how an ``ok`` one fell back.
REPORT_COLUMNS = ("relative_path", "status", "frames", *FACE_SOURCES, "no_mesh", "error")

#: What happens to a video with no face in any frame: left out of the cache, or cropped at its centre.
NO_FACE_POLICIES = ("skip", "centre")
DEFAULT_NO_FACE = "skip"


@dataclass(frozen=True)
class PrepareResult:
    """What a preparation run left behind.

    Attributes:
        folder: the cache folder.
        report: one row per indexed video.
        prepared_now: videos decoded and prepared by this run.
        seconds: how long it took.
        derived_from: the cache of larger crops the frames were resized from, if they were.
        decoded_now: videos this run decoded, whether or not they went into the cache.
        frames_now: frames this run put into the cache.
        left_corpus: cached videos no longer in the corpus, for which the whole cache was made again.
    """

    folder: Path
    report: pd.DataFrame
    prepared_now: int
    seconds: float
    derived_from: Path | None = None
    decoded_now: int = 0
    frames_now: int = 0
    left_corpus: tuple[str, ...] = ()

    def summary(self) -> str:
        """The counts a user checks first (videos by status, frames by how their face was found), every video
        that fell back, by its path under the corpus root, and what this run did."""
        report = self.report
        ok = report[report["status"] == "ok"]
        lines = [
            (f"{len(ok)}/{len(report)} videos prepared ({self.prepared_now} now, {len(ok) - self.prepared_now} "
             f"cached), {int(ok['frames'].sum())} frames in {self.folder}"),
            "face boxes: " + ", ".join(f"{int(ok[c].sum())} {c.replace('_', ' ')}"
                                       for c in FACE_SOURCES),
            f"frames without a face mesh (depth and parsing left empty): {int(ok['no_mesh'].sum())}",
        ]
        fell_back = [f"  {row['relative_path']}: {'; '.join(fallbacks)}"
                     for row in report.to_dict("records") if (fallbacks := fallbacks_of(row))]
        if fell_back:
            lines += [f"{len(fell_back)} video(s) fell back (also in report.csv):", *fell_back]
        if self.left_corpus:
            lines.append(f"made again from the videos: {len(self.left_corpus)} video(s) in the cache left the corpus: "
                         + ", ".join(self.left_corpus))
        if self.derived_from is not None:
            lines.append(f"nothing decoded: frames resized from {self.derived_from}")
        elif self.decoded_now == 0:
            lines.append(f"all {len(report)} videos already cached, nothing decoded")
        else:
            lines.append(f"{self.decoded_now} video(s) decoded in {self.seconds:.1f}s, "
                         f"{self.frames_now / max(self.seconds, 1e-9):.1f} frames/s")
        return "\n".join(lines)


def fallbacks_of(row: dict) -> list[str]:
    """What was done to one video (a ``report.csv`` row) in place of the normal path, if anything."""
    if row["status"] == "unreadable":
        return [f"left out: {row['error']}"]
    if row["status"] == "no_face":
        return [f"left out (--no-face skip): {row['error']}"]
    frames, done = int(row["frames"]), []
    if _no_face_found(row):
        done.append(f"cropped at the centre (--no-face centre): no face found in any of its {frames} frames")
    if row["nearest_frame"]:
        done.append(f"no face in {row['nearest_frame']} of its {frames} frames: the nearest frame's box used")
    if row["no_mesh"]:
        done.append(f"no face mesh in {row['no_mesh']} of its {frames} frames: depth and parsing left empty")
    if row["error"]:
        done.append(row["error"])
    return done


class VideoPreparer:
    """Holds the detector and the labeller of one process (both are slow to build)."""

    def __init__(self, root: Path, config: PrepareConfig, device: str = "cpu", no_face: str = DEFAULT_NO_FACE) -> None:
        from dgfas.data.corpora.faces import MtcnnDetector
        from dgfas.data.corpora.labels import FaceLabeller

        self.root, self.config, self.no_face = root, config, no_face
        self.detector = MtcnnDetector(device=device)
        self.labeller = FaceLabeller()

    def face_boxes(self, entry: VideoEntry, frames: np.ndarray, indices: np.ndarray) -> tuple[list, list[str], str]:
        """One box (or None) per frame, how each was found, and a note when the corpus's face file was not
        (wholly) used.

        A malformed face-location file, or a box in it off the frame, does
        not stop the run: those faces are detected instead, and the note
        goes into the report.
        """
        from dgfas.data.corpora.faces import covers_frame, fill_missing, read_face_locations

        height, width = frames.shape[1:3]
        boxes: list = [None] * len(indices)
        notes = []
        face_file = entry.metadata.get("face_locations")
        if face_file:
            try:
                located = read_face_locations(self.root / face_file)
            except DgfasError as error:
                located = {}
                notes.append(f"face file not used ({error}): faces detected instead")
            boxes = [located.get(int(i)) for i in indices]
            off = [int(i) for i, b in zip(indices, boxes) if b is not None and not covers_frame(b, height, width)]
            if off:
                notes.append(f"face file boxes off the {width}x{height} frame at frame(s) "
                             f"{', '.join(map(str, off))}: faces detected instead")
            boxes = [b if b is not None and covers_frame(b, height, width) else None for b in boxes]
        from_file = [b is not None for b in boxes]
        missing = [k for k, b in enumerate(boxes) if b is None]
        if missing:
            for k, box in zip(missing, self.detector.detect(frames[missing])):
                boxes[k] = box if box is not None and covers_frame(box, height, width) else None
        boxes, sources = fill_missing(boxes)
        sources = ["face_file" if f and s == "detected" else s for f, s in zip(from_file, sources)]
        return boxes, sources, "; ".join(notes)

    def prepare(self, entry: VideoEntry) -> tuple[dict, dict[str, np.ndarray] | None, dict[str, list] | None]:
        """Prepare one video: its report row, its ``FRAME_ARRAYS`` and its ``FRAME_META``.

        A video that cannot be decoded gives status ``unreadable`` and no arrays; one without a face in any
        frame gives status ``no_face`` and no arrays when the policy is ``skip``.
        """
        from dgfas.data.corpora.faces import square_crop
        from dgfas.data.corpora.video import VideoError, read_frames

        try:
            sampled = read_frames(self.root / entry.relative_path, self.config.frames_per_video)
        except VideoError as error:
            return _report_row(entry.relative_path, "unreadable", error=str(error)), None, None
        boxes, sources, note = self.face_boxes(entry, sampled.frames, sampled.indices)
        if self.no_face == "skip" and all(source == "centre" for source in sources):
            return (_report_row(entry.relative_path, "no_face",
                                error=f"no face found in any of its {len(sources)} frames"), None, None)
        wanted = self.config.frames_per_video
        if 0 < sampled.total < wanted:
            short = f"only {sampled.total} frames in the video, {wanted} asked: all kept"
            note = f"{note}; {short}" if note else short
        size, margin, live = self.config.size, self.config.margin, entry.label == "live"
        crops = np.stack([square_crop(f, b, size, margin) for f, b in zip(sampled.frames, boxes)])
        # FaceMesh sees the same square at its own input size at least, not the (possibly small) crop
        detail_size = max(size, MESH_INPUT_SIZE)
        labels = [self.labeller.labels(crop, live, square_crop(f, b, detail_size, margin) if detail_size > size else None)
                  for crop, f, b in zip(crops, sampled.frames, boxes)]
        arrays = {
            "images": crops,
            "depth": np.stack([lab.depth for lab in labels]),
            "parsing": np.stack([lab.parsing for lab in labels]),
            "reflection": np.stack([lab.reflection for lab in labels]),
        }
        meta = {"frame": [int(i) for i in sampled.indices], "face_source": list(sources),
                "mesh_found": [bool(lab.mesh_found) for lab in labels]}
        return row_of_video(entry.relative_path, meta, note), arrays, meta


def _report_row(relative_path: str, status: str, *, error: str = "", **counts: int) -> dict:
    row = {"relative_path": relative_path, "status": status, "error": error}
    for column in REPORT_COLUMNS[2:-1]:
        row[column] = counts.get(column, 0)
    return row


def row_of_video(relative_path: str, meta: dict[str, list], note: str) -> dict:
    """A prepared video's report row (kept in the cache's journal, so cached videos report like new ones)."""
    sources = meta["face_source"]
    return _report_row(
        relative_path, "ok", error=note, frames=len(sources), no_mesh=sum(not found for found in meta["mesh_found"]),
        **{source: sources.count(source) for source in FACE_SOURCES},
    )


_WORKER: VideoPreparer | None = None


def _start_worker(root: Path, config: PrepareConfig, device: str, no_face: str) -> None:
    import torch

    global _WORKER
    torch.set_num_threads(1)  # one process per core already
    _WORKER = VideoPreparer(root, config, device, no_face)


def _prepare_in_worker(entry: VideoEntry) -> tuple[dict, dict | None, dict | None]:
    return _WORKER.prepare(entry)


def _prepared_in_order(todo: list[VideoEntry], root: Path, config: PrepareConfig, workers: int, device: str,
                       no_face: str):
    """``VideoPreparer.prepare`` of each video, yielded in ``todo``'s order.

    With several workers, at most two videos per worker are handed out
    ahead of the one awaited, so finished videos waiting their turn are few
    whatever the corpus's size (``Pool.imap`` would queue every video and
    keep every result that finishes early).
    """
    if workers <= 1:
        preparer = VideoPreparer(root, config, device, no_face)
        for entry in todo:
            yield preparer.prepare(entry)
        return
    context = multiprocessing.get_context("spawn")  # torch and the LiteRT runtime are not fork-safe
    with context.Pool(workers, initializer=_start_worker, initargs=(root, config, device, no_face)) as pool:
        pending = collections.deque()
        for entry in todo:
            pending.append(pool.apply_async(_prepare_in_worker, (entry,)))
            if len(pending) > 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


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
    centred = [entry["video"] for entry in entries if _no_face_found(entry["report"])]
    if no_face == "skip" and centred:
        raise DgfasError(f"{folder}: {len(centred)} video(s) in this cache had no face and were cropped at the "
                         f"centre (--no-face centre), e.g. {centred[0]}; prepare with --no-face centre, or delete "
                         "the folder to prepare without them")
    _write_config(folder, index, cache_identity(index.corpus, config), no_face=no_face)
    rows = {entry["video"]: entry["report"] for entry in entries}
    if no_face == "skip":  # a video an earlier run left out for want of a face is not decoded again
        rows = {**_left_out_for_no_face(folder, indexed), **rows}
    todo = [entry for entry in index.videos if entry.relative_path not in rows]
    prepared_now = frames_now = 0
    complete = is_complete(folder, index)  # only an append changes it, and an append is followed by finish()
    if todo or not complete:
        bar = tqdm(total=len(index.videos), initial=len(rows), desc=f"prepare {index.corpus}", unit="video",
                   disable=not progress)
        with FrameWriter(folder, config.size) as writer:
            try:
                for row, arrays, meta in _prepared_in_order(todo, index.root, config, workers, device, no_face):
                    rows[row["relative_path"]] = row
                    if arrays is not None:
                        writer.append(row["relative_path"], arrays, meta, row)
                        prepared_now += 1
                        frames_now += row["frames"]
                    bar.update(1)
            finally:
                bar.close()
            report = _report(index, rows, folder)
            if not writer.entries:
                raise DgfasError(f"{index.root}: no video of {index.corpus} could be prepared; see "
                                 f"{folder / 'report.csv'}")
            if prepared_now or not complete:
                writer.finish(index)
    else:
        report = _report(index, rows, folder)
    return PrepareResult(folder, report, prepared_now, time.perf_counter() - started, decoded_now=len(todo),
                         frames_now=frames_now, left_corpus=left_corpus)


def _no_face_found(row: dict) -> bool:
    """Whether a prepared video's report row says no frame of it had a face (so it was cropped at the centre)."""
    return row["status"] == "ok" and 0 < row["frames"] == row["centre"]


def _left_out_for_no_face(folder: Path, indexed: set[str]) -> dict[str, dict]:
    """The report rows of the indexed videos the folder's last ``report.csv`` left out for want of a face.

    The folder's name fixes the code and settings that found no face, so
    they would find none again; a missing or unreadable report only costs
    decoding those videos again.
    """
    try:
        report = pd.read_csv(folder / "report.csv", keep_default_na=False)
    except (OSError, ValueError):
        return {}
    if list(report.columns) != list(REPORT_COLUMNS):
        return {}
    left_out = report[(report["status"] == "no_face") & report["relative_path"].isin(indexed)]
    return {row["relative_path"]: row for row in left_out.to_dict("records")}


def _report(index: CorpusIndex, rows: dict[str, dict], folder: Path) -> pd.DataFrame:
    """The report in index order, also written to ``report.csv``."""
    report = pd.DataFrame([rows[v.relative_path] for v in index.videos], columns=list(REPORT_COLUMNS))
    atomic_write_text(folder / "report.csv", report.to_csv(index=False, lineterminator="\n"))
    return report


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
