"""Prepare one video of a corpus: decode its frames, find the face, crop it and make its labels; and the worker
processes that prepare many.

Per video: decode ``frames_per_video`` frames spread uniformly over it; take
each frame's face box from the corpus's own face-location file when it ships
one, else from MTCNN; a frame without a box borrows the nearest frame's box;
crop a square with a margin, resize, and make the auxiliary labels (depth and
parsing from FaceMesh for lives, a reflection estimate for spoofs). A video
that cannot be decoded is reported and left out; nothing else stops the run.

A video with no face in any frame is left out by default (``no_face="skip"``),
as the field's pipelines keep only frames with a detected face (the code
bases built on SSDG list "all the detected faces"; SiW readers drop frames
whose ``.face`` line is empty); ``no_face="centre"`` crops its centre instead.

Worker processes return each video's frames to the parent in the order they
were handed out (:func:`prepared_in_order`), so what is written comes out the
same with any number of workers and at most a few videos wait in memory.
"""

from __future__ import annotations

import collections
import multiprocessing
from pathlib import Path

import numpy as np

from dgfas.data.corpora import video
from dgfas.data.corpora.cache_identity import PrepareConfig
from dgfas.data.corpora.facemesh import INPUT_SIZE as MESH_INPUT_SIZE
from dgfas.data.corpora.faces import MtcnnDetector, covers_frame, fill_missing, read_face_locations, square_crop
from dgfas.data.corpora.index import VideoEntry
from dgfas.data.corpora.labels import FaceLabeller
from dgfas.data.corpora.prepare_report import report_row, row_of_video
from dgfas.errors import DgfasError

#: What happens to a video with no face in any frame: left out of the cache, or cropped at its centre.
NO_FACE_POLICIES = ("skip", "centre")
DEFAULT_NO_FACE = "skip"


class VideoPreparer:
    """Holds the detector and the labeller of one process (both are slow to build)."""

    def __init__(self, root: Path, config: PrepareConfig, device: str = "cpu", no_face: str = DEFAULT_NO_FACE) -> None:
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
        try:
            sampled = video.read_frames(self.root / entry.relative_path, self.config.frames_per_video)
        except video.VideoError as error:
            return report_row(entry.relative_path, "unreadable", error=str(error)), None, None
        boxes, sources, note = self.face_boxes(entry, sampled.frames, sampled.indices)
        if self.no_face == "skip" and all(source == "centre" for source in sources):
            return (report_row(entry.relative_path, "no_face",
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


_WORKER: VideoPreparer | None = None


def _start_worker(root: Path, config: PrepareConfig, device: str, no_face: str) -> None:
    import torch

    global _WORKER
    torch.set_num_threads(1)  # one process per core already
    _WORKER = VideoPreparer(root, config, device, no_face)


def _prepare_in_worker(entry: VideoEntry) -> tuple[dict, dict | None, dict | None]:
    return _WORKER.prepare(entry)


def prepared_in_order(todo: list[VideoEntry], root: Path, config: PrepareConfig, workers: int, device: str,
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
