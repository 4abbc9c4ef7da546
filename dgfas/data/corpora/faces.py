"""Where the face is in each frame, and the square crop around it that models see.

Boxes come from two places: the face-location files some corpora ship
(Replay-Attack's separate face-locations package, SiW's ``.face`` files), read
by :func:`read_face_locations`, and MTCNN (:class:`MtcnnDetector`) for the
others. A box that misses the frame (:func:`covers_frame`) counts as none;
frames without a box borrow the nearest frame's (:func:`fill_missing`), and
:func:`square_crop` cuts the same kind of square from every corpus, so a
model cannot tell corpora apart by how their faces were framed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dgfas.errors import DgfasError

#: Extra context on each side of the face box, as a fraction of its longer side. 0.2 keeps the forehead,
#: chin and some background, where print edges and screen bezels show; DG-FAS code usually crops with a
#: margin of this order.
MARGIN = 0.2


@dataclass(frozen=True)
class FaceBox:
    """A face's bounding box in pixels (``x1``, ``y1`` exclusive) and the detector's confidence."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float = 1.0

    @property
    def area(self) -> float:
        """Pixels covered; breaks ties between equally confident detections in favour of the nearer face."""
        return max(self.x1 - self.x0, 0.0) * max(self.y1 - self.y0, 0.0)


class MtcnnDetector:
    """MTCNN (Zhang et al., "Joint Face Detection and Alignment using Multi-task Cascaded Convolutional
    Networks", 2016) from facenet-pytorch, whose weights ship inside the PyPI wheel, so nothing is fetched at
    run time.

    Args:
        device: torch device the three networks run on.
        min_face_fraction: smallest face searched for, as a fraction of the frame's short side. Faces in the
            anti-spoofing corpora fill much of the frame, and skipping the small scales of the image pyramid
            makes detection several times faster.
        threshold: smallest final-stage probability accepted as a face.
        detect_side: frames whose short side is longer are shrunk to it before detection (boxes are scaled
            back). MTCNN converts and resamples the whole frame at every pyramid scale, so a 1080p frame
            cost about 76 ms and the same frame shrunk to 480 px about 36 ms (batches of 10 on 2 cores); a
            face of the smallest size searched for still spans 48 px there.

    Raises:
        DgfasError: facenet-pytorch is not installed.
    """

    def __init__(self, device: str = "cpu", min_face_fraction: float = 0.1, threshold: float = 0.9,
                 detect_side: int = 480) -> None:
        try:
            from facenet_pytorch import MTCNN
        except ImportError:
            raise DgfasError("face detection needs facenet-pytorch: run `make setup`") from None
        self.min_face_fraction = min_face_fraction
        self.threshold = threshold
        self.detect_side = detect_side
        self._mtcnn = MTCNN(keep_all=True, device=device)

    def detect(self, frames: np.ndarray) -> list[FaceBox | None]:
        """The most confident face of each (H, W, 3) uint8 RGB frame (ties: the larger), or None where none passes.

        ``frames`` is (K, H, W, 3): one video's frames, detected as one batch.
        """
        if len(frames) == 0:
            return []
        height, width = frames.shape[1:3]
        shrink = min(1.0, self.detect_side / min(height, width))
        if shrink < 1.0:
            from PIL import Image

            size = (round(width * shrink), round(height * shrink))
            frames = np.stack([np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0))
                               for f in frames])
        # MTCNN's pyramid never looks for faces under 12 px, and its own default floor is 20 px
        self._mtcnn.min_face_size = max(20, round(min(frames.shape[1:3]) * self.min_face_fraction))
        batch_boxes, batch_probs = self._mtcnn.detect(np.ascontiguousarray(frames))
        return [self._best(boxes, probs, 1.0 / shrink) for boxes, probs in zip(batch_boxes, batch_probs)]

    def _best(self, boxes: np.ndarray | None, probs: np.ndarray, scale: float) -> FaceBox | None:
        if boxes is None:
            return None
        # facenet-pytorch returns object arrays under numpy 2
        faces = [FaceBox(*map(float, box * scale), score=float(p))
                 for box, p in zip(np.asarray(boxes, dtype=float), np.asarray(probs, dtype=float))
                 if p >= self.threshold]
        return max(faces, key=lambda f: (f.score, f.area), default=None)


def read_face_locations(path: Path) -> dict[int, FaceBox]:
    """Read a corpus's per-frame face boxes, keyed by 0-based frame number; frames without a face are absent.

    The format is told apart by the number of columns, the same on every line:

    * 5 integers, ``frame x y width height``: Replay-Attack's face-locations package. A frame without a
      face has zero width and height.
    * 4 numbers, ``x1 y1 x2 y2``: SiW's ``.face`` files, line ``i`` for frame ``i``; an all-zero line means no
      face.

    Empty lines are skipped (SiW's line numbering counts only the non-empty ones).

    Raises:
        DgfasError: the file cannot be read, or a line does not fit the format of the first one.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DgfasError(f"{path}: cannot read face locations: {getattr(error, 'strerror', None) or error}") from None
    boxes: dict[int, FaceBox] = {}
    columns = None
    frame = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.replace(",", " ").split()
        columns = columns or len(fields)
        values = _numbers(path, number, fields, columns)
        if columns == 5:
            index, x, y, width, height = values
            if width > 0 and height > 0:
                boxes[int(index)] = FaceBox(x, y, x + width, y + height)
        elif any(values):
            boxes[frame] = FaceBox(*values)
        frame += 1
    return boxes


def _numbers(path: Path, number: int, fields: list[str], columns: int) -> list[float]:
    if columns not in (4, 5) or len(fields) != columns:
        raise DgfasError(f"{path}: line {number}: expected 5 fields (frame x y width height) or 4 (x1 y1 x2 y2) on "
                         f"every line, got {len(fields)}")
    try:
        values = [float(f) for f in fields]
    except ValueError:
        raise DgfasError(f"{path}: line {number}: not a number in {' '.join(fields)!r}") from None
    if columns == 5 and not all(v.is_integer() for v in values):
        raise DgfasError(f"{path}: line {number}: expected integers (frame x y width height), got {' '.join(fields)!r}")
    return values


def covers_frame(box: FaceBox, height: int, width: int) -> bool:
    """Whether ``box`` covers at least one whole pixel row and column of a ``height`` x ``width`` frame.

    A face file can hold a box beside the frame (a typo, or coordinates of
    another resolution); cropping there would show only replicated edge
    pixels, so such a box is treated as no box. One whole pixel each way
    also keeps :func:`square_crop`'s rounded square on the frame.
    """
    return min(box.x1, width) - max(box.x0, 0) >= 1 and min(box.y1, height) - max(box.y0, 0) >= 1


def fill_missing(boxes: list[FaceBox | None]) -> tuple[list[FaceBox | None], list[str]]:
    """Give each frame of one video without a box the box of the nearest frame (in list order) that has one.

    Returns:
        The boxes and, per frame, where its box came from: ``detected`` (its own; callers reading a corpus's
        file relabel it ``face_file``), ``nearest_frame`` (borrowed; ties go to the earlier frame), or
        ``centre`` when no frame of the video has a box, in which case every box is None and the caller crops
        the centre square.
    """
    found = [i for i, box in enumerate(boxes) if box is not None]
    if not found:
        return [None] * len(boxes), ["centre"] * len(boxes)
    found_at = np.asarray(found)
    filled: list[FaceBox | None] = []
    sources: list[str] = []
    for i, box in enumerate(boxes):
        if box is not None:
            filled.append(box)
            sources.append("detected")
        else:
            filled.append(boxes[int(found_at[np.argmin(np.abs(found_at - i))])])
            sources.append("nearest_frame")
    return filled, sources


def square_crop(frame: np.ndarray, box: FaceBox | None, size: int, margin: float = MARGIN) -> np.ndarray:
    """A (size, size, 3) uint8 square around the face, resized with antialiasing.

    The square is centred on the box, with side ``max(width, height) * (1 + 2 * margin)``; ``box=None`` gives
    the centred square of side ``min(H, W)``. Where the square leaves the frame, the frame's edge pixels are
    repeated: zero padding would draw a black border whose presence depends on how close the face is to the
    frame's edge, a cue a model could learn in place of the attack.

    Raises:
        ValueError: ``box`` does not cover the frame (:func:`covers_frame`); callers drop such boxes first.
    """
    from PIL import Image

    height, width = frame.shape[:2]
    if box is not None and not covers_frame(box, height, width):
        raise ValueError(f"face box {box} lies off the {width}x{height} frame")
    if box is None:
        side = min(height, width)
        cx, cy = width / 2, height / 2
    else:
        side = max(box.x1 - box.x0, box.y1 - box.y0) * (1 + 2 * margin)
        cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    side_px = max(1, round(side))
    x0, y0 = round(cx - side_px / 2), round(cy - side_px / 2)
    x1, y1 = x0 + side_px, y0 + side_px
    # (side_px, side_px, 3): the part inside the frame, padded out by edge replication
    inside = frame[max(y0, 0):min(y1, height), max(x0, 0):min(x1, width)]
    pad = ((max(-y0, 0), max(y1 - height, 0)), (max(-x0, 0), max(x1 - width, 0)), (0, 0))
    square = np.pad(inside, pad, mode="edge")
    image = Image.fromarray(np.ascontiguousarray(square, dtype=np.uint8))
    # PIL's bilinear filter widens with the scale factor (antialiased); reducing_gap first box-reduces big
    # downscales (a 1080p face to 224 px) by an integer factor, which is faster and looks the same
    return np.asarray(image.resize((size, size), Image.BILINEAR, reducing_gap=3.0))
