"""``dgfas data prepare``: decode, find the face, crop, label and cache every video of a corpus.

Per video: decode ``frames_per_video`` frames spread uniformly over it; take
each frame's face box from the corpus's own face-location file when it ships
one, else from MTCNN; a frame without a box borrows the nearest frame's box,
and a video without any box is cropped at its centre (both are recorded);
crop a square with a margin, resize, and make the auxiliary labels (depth and
parsing from FaceMesh for lives, a reflection estimate for spoofs). A video
that cannot be decoded is reported and skipped; nothing else stops the run.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dgfas.atomic import atomic_write_text
from dgfas.data.corpora.cache import (
    PrepareConfig,
    cache_folder,
    consolidate,
    is_consolidated,
    read_video,
    video_file,
    write_video,
)
from dgfas.data.corpora.facemesh import INPUT_SIZE as MESH_INPUT_SIZE
from dgfas.data.corpora.index import CorpusIndex, VideoEntry
from dgfas.errors import DgfasError

#: Columns of ``report.csv``, one row per indexed video.
REPORT_COLUMNS = ("relative_path", "status", "frames", "face_file", "detected", "nearest_frame", "centre",
                  "no_mesh", "error")


@dataclass(frozen=True)
class PrepareResult:
    """What a preparation run left behind."""

    folder: Path
    report: pd.DataFrame
    prepared_now: int
    seconds: float

    def summary(self) -> str:
        """The counts a user checks first: videos by status, frames by how their face was found."""
        report = self.report
        ok = report[report["status"] == "ok"]
        lines = [
            (f"{len(ok)}/{len(report)} videos prepared ({self.prepared_now} now, {len(ok) - self.prepared_now} "
             f"cached), {int(ok['frames'].sum())} frames in {self.folder}"),
            "face boxes: " + ", ".join(f"{int(ok[c].sum())} {c.replace('_', ' ')}"
                                       for c in ("face_file", "detected", "nearest_frame", "centre")),
            f"frames without a face mesh (depth and parsing left empty): {int(ok['no_mesh'].sum())}",
        ]
        for row in report[report["error"] != ""].itertuples():
            lines.append(f"{'skipped' if row.status != 'ok' else 'note on'} {row.relative_path}: {row.error}")
        return "\n".join(lines)


class VideoPreparer:
    """Holds the detector and the labeller of one process (both are slow to build)."""

    def __init__(self, root: Path, folder: Path, config: PrepareConfig, device: str = "cpu") -> None:
        from dgfas.data.corpora.faces import MtcnnDetector
        from dgfas.data.corpora.labels import FaceLabeller

        self.root, self.folder, self.config = root, folder, config
        self.detector = MtcnnDetector(device=device)
        self.labeller = FaceLabeller()

    def face_boxes(self, entry: VideoEntry, frames: np.ndarray, indices: np.ndarray) -> tuple[list, list[str], str]:
        """One box (or None) per frame, how each was found, and a note when the corpus's face file was unusable.

        A malformed face-location file does not stop the run: the video's
        faces are detected instead, and the note goes into the report.
        """
        from dgfas.data.corpora.faces import fill_missing, read_face_locations

        boxes: list = [None] * len(indices)
        from_file = [False] * len(indices)
        note = ""
        face_file = entry.metadata.get("face_locations")
        if face_file:
            try:
                located = read_face_locations(self.root / face_file)
            except DgfasError as error:
                located, note = {}, f"face file not used: {error}"
            boxes = [located.get(int(i)) for i in indices]
            from_file = [b is not None for b in boxes]
        missing = [k for k, b in enumerate(boxes) if b is None]
        if missing:
            for k, box in zip(missing, self.detector.detect(frames[missing])):
                boxes[k] = box
        boxes, sources = fill_missing(boxes)
        sources = ["face_file" if f and s == "detected" else s for f, s in zip(from_file, sources)]
        return boxes, sources, note

    def prepare(self, entry: VideoEntry) -> dict:
        """Prepare and write one video; returns its report row (status ``unreadable`` on a bad video)."""
        from dgfas.data.corpora.faces import square_crop
        from dgfas.data.corpora.video import VideoError, read_frames

        try:
            sampled = read_frames(self.root / entry.relative_path, self.config.frames_per_video)
        except VideoError as error:
            return _report_row(entry.relative_path, "unreadable", error=str(error))
        boxes, sources, note = self.face_boxes(entry, sampled.frames, sampled.indices)
        size, margin, live = self.config.size, self.config.margin, entry.label == "live"
        crops = np.stack([square_crop(f, b, size, margin) for f, b in zip(sampled.frames, boxes)])
        # FaceMesh sees the same square at its own input size at least, not the (possibly small) crop
        detail_size = max(size, MESH_INPUT_SIZE)
        labels = [self.labeller.labels(crop, live, square_crop(f, b, detail_size, margin) if detail_size > size else None)
                  for crop, f, b in zip(crops, sampled.frames, boxes)]
        arrays = {
            "images": crops,
            "depth": np.stack([lab.depth for lab in labels]).astype(np.float16),
            "parsing": np.stack([lab.parsing for lab in labels]).astype(np.uint8),
            "reflection": np.stack([lab.reflection for lab in labels]).astype(np.float16),
            "frame": sampled.indices.astype(np.int64),
            "face_source": np.array(sources),
            "mesh_found": np.array([lab.mesh_found for lab in labels]),
            "total_frames": np.array(sampled.total, dtype=np.int64),
            "note": np.array(note),
        }
        write_video(video_file(self.folder, entry.relative_path), arrays)
        return row_of_arrays(entry.relative_path, arrays)


def _report_row(relative_path: str, status: str, *, error: str = "", **counts: int) -> dict:
    row = {"relative_path": relative_path, "status": status, "error": error}
    for column in REPORT_COLUMNS[2:-1]:
        row[column] = counts.get(column, 0)
    return row


def row_of_arrays(relative_path: str, arrays: dict[str, np.ndarray]) -> dict:
    """A prepared video's report row, from its own arrays (so cached videos report like new ones)."""
    sources = list(arrays["face_source"].astype(str))
    return _report_row(
        relative_path, "ok", error=str(arrays["note"]), frames=len(sources), no_mesh=int((~arrays["mesh_found"].astype(bool)).sum()),
        **{source: sources.count(source) for source in ("face_file", "detected", "nearest_frame", "centre")},
    )


#: The arrays a report row is made from (read alone for cached videos, without their pixels).
_REPORTED = ("face_source", "mesh_found", "note")

_WORKER: VideoPreparer | None = None


def _start_worker(root: Path, folder: Path, config: PrepareConfig, device: str) -> None:
    import torch

    global _WORKER
    torch.set_num_threads(1)  # one process per core already
    _WORKER = VideoPreparer(root, folder, config, device)


def _prepare_in_worker(entry: VideoEntry) -> dict:
    return _WORKER.prepare(entry)


def prepare_corpus(
    index: CorpusIndex,
    cache_dir: Path,
    config: PrepareConfig | None = None,
    *,
    workers: int = 2,
    device: str = "cpu",
    progress: bool = True,
) -> PrepareResult:
    """Prepare every video of ``index`` not yet in the cache, then join them for the trainer.

    Args:
        index: the corpus's videos (``dgfas.data.corpora.index_corpus``).
        cache_dir: root of the frame cache.
        config: frames per video, crop size, margin (defaults if None).
        workers: processes, each with its own detector and labeller.
        device: torch device of the face detector.
        progress: show a progress bar.

    Returns:
        The cache folder and one report row per video.
    """
    from tqdm import tqdm

    started = time.perf_counter()
    config = config or PrepareConfig()
    folder = cache_folder(cache_dir, index.corpus, config)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        config_text = pd.Series({"corpus": index.corpus, "root": str(index.root), **config.__dict__}).to_json(indent=1)
        atomic_write_text(folder / "config.json", config_text)
    except OSError as error:
        raise DgfasError(f"cannot write frame cache {folder}: {error.strerror or error}") from None
    rows: dict[str, dict] = {}
    todo = []
    for entry in index.videos:
        path = video_file(folder, entry.relative_path)
        if path.is_file():
            rows[entry.relative_path] = row_of_arrays(entry.relative_path, read_video(path, _REPORTED))
        else:
            todo.append(entry)
    bar = tqdm(total=len(index.videos), initial=len(rows), desc=f"prepare {index.corpus}", unit="video",
               disable=not progress)
    try:
        if todo and workers > 1:
            context = multiprocessing.get_context("spawn")  # torch and the LiteRT runtime are not fork-safe
            with context.Pool(workers, initializer=_start_worker, initargs=(index.root, folder, config, device)) as pool:
                for row in pool.imap_unordered(_prepare_in_worker, todo):
                    rows[row["relative_path"]] = row
                    bar.update(1)
        elif todo:
            preparer = VideoPreparer(index.root, folder, config, device)
            for entry in todo:
                row = preparer.prepare(entry)
                rows[row["relative_path"]] = row
                bar.update(1)
    finally:
        bar.close()
    report = pd.DataFrame([rows[v.relative_path] for v in index.videos], columns=list(REPORT_COLUMNS))
    atomic_write_text(folder / "report.csv", report.to_csv(index=False, lineterminator="\n"))
    prepared = report.loc[report["status"] == "ok", "relative_path"].tolist()
    if not prepared:
        raise DgfasError(f"{index.root}: no video of {index.corpus} could be decoded; see {folder / 'report.csv'}")
    if not is_consolidated(folder, index, prepared):
        consolidate(folder, index, prepared)
    prepared_now = sum(1 for e in todo if rows[e.relative_path]["status"] == "ok")
    return PrepareResult(folder, report, prepared_now, time.perf_counter() - started)
