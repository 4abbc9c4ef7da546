"""Decoding a few evenly spaced frames of a corpus video with PyAV.

The corpora ship ``.mov``, ``.avi`` and ``.mp4`` files whose headers often
misstate the frame count (``stream.frames`` is 0 for many ``.avi`` files and
off by a few for some ``.mov`` files), so the count is only trusted to plan
which frames to keep: when decoding finds a different number, the video is
decoded a second time with the true count. Only the kept frames are converted
to RGB and held in memory, so a two-minute 1080p video costs K frames, not
thousands. PyAV is imported inside the functions, as the core imports torch
and numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dgfas.errors import DgfasError


class VideoError(DgfasError):
    """A video that cannot be used: missing, unreadable, corrupt, without a video stream or without frames."""


@dataclass(frozen=True)
class SampledFrames:
    """Frames kept from one video.

    Attributes:
        frames: (K, H, W, 3) uint8 RGB, upright when the file carries rotation metadata.
        indices: (K,) int64 frame numbers within the video, 0-based in decode order.
        total: frames the video has, counted by decoding when the header is wrong or silent.
    """

    frames: np.ndarray
    indices: np.ndarray
    total: int


#: Encoder per container for :func:`write_video`: what the corpora's own files use or an encoder PyAV
#: always bundles (``libx264`` for ``.mp4``, ``mpeg4`` for ``.avi`` and ``.mov``).
CODEC_OF_EXTENSION = {".avi": "mpeg4", ".mov": "mpeg4", ".mp4": "libx264"}


def write_video(path: Path, frames: np.ndarray, *, fps: int = 10, codec: str | None = None,
                pix_fmt: str = "yuv420p", rotation: int | None = None) -> Path:
    """Encode (N, H, W, 3) uint8 RGB ``frames`` (even H and W) as a real video file.

    Nothing in dgfas writes corpus videos; this makes the small real files
    the tests and benchmarks run the decoding, detection and preparation on.

    Args:
        path: ``.avi``, ``.mov`` or ``.mp4``; the codec follows the extension unless given.
        fps: frame rate written to the container.
        codec: an FFmpeg encoder name (``mpeg4``, ``mjpeg``, ``libx264``, ...).
        pix_fmt: pixel format of the stream (``yuvj420p`` for ``mjpeg``).
        rotation: display rotation in degrees stored as stream metadata.
    """
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec or CODEC_OF_EXTENSION[path.suffix], rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = pix_fmt
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def uniform_indices(total: int, count: int) -> np.ndarray:
    """``count`` frame numbers evenly spread over ``[0, total - 1]`` (rounded ``linspace``).

    ``count=0`` asks for every frame; a video shorter than ``count`` gives all
    its frames once rather than repeating some, so a short video never weighs
    more in a batch than it holds.

    Raises:
        DgfasError: ``count`` or ``total`` is negative.
    """
    if count < 0 or total < 0:
        raise DgfasError(f"frame count and total must be >= 0, got count={count}, total={total}")
    if count == 0 or count >= total:
        return np.arange(total, dtype=np.int64)
    # the step (total-1)/(count-1) exceeds 1, so rounding cannot make two indices equal
    return np.round(np.linspace(0, total - 1, count)).astype(np.int64)


def read_frames(path: Path, count: int) -> SampledFrames:
    """Decode ``count`` evenly spaced frames of the video at ``path`` (``count=0``: all of them).

    Raises:
        VideoError: the file is missing, unreadable, not a video, or has no decodable frame; the
            message names the path.
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: video file not found")
    try:
        stated = _stated_frames(path)
        # a silent header needs a counting pass; a stated count is tried and checked
        total = stated if stated > 0 else _decode(path, None)[2]
        frames, indices, decoded = _decode(path, uniform_indices(total, count))
        if decoded != total:
            frames, indices, decoded = _decode(path, uniform_indices(decoded, count))
    except av.error.FFmpegError as error:
        raise VideoError(f"{path}: cannot decode: {_one_line(error.strerror or error)}") from None
    except OSError as error:
        raise VideoError(f"{path}: cannot read: {error.strerror or error}") from None
    if decoded == 0:
        raise VideoError(f"{path}: no decodable video frame")
    return SampledFrames(np.stack(frames), np.asarray(indices, dtype=np.int64), decoded)


def _stated_frames(path: Path) -> int:
    """The frame count the container states (0 when silent); fails when there is no video stream."""
    import av

    with av.open(str(path)) as container:
        if not container.streams.video:
            raise VideoError(f"{path}: no video stream")
        return int(container.streams.video[0].frames or 0)


def _decode(path: Path, wanted: np.ndarray | None) -> tuple[list[np.ndarray], list[int], int]:
    """Decode every frame, keep those numbered in ``wanted`` as RGB (none when ``None``), and count them all."""
    import av

    keep = set() if wanted is None else {int(i) for i in wanted}
    frames: list[np.ndarray] = []
    indices: list[int] = []
    decoded = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame-parallel decoding: about twice as fast on two cores
        for number, frame in enumerate(container.decode(stream)):
            if number in keep:
                frames.append(_upright(frame.to_ndarray(format="rgb24"), frame.rotation))
                indices.append(number)
            decoded = number + 1
    return frames, indices, decoded


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Apply the display matrix's rotation (degrees counter-clockwise), as players do, so faces stand upright."""
    quarter_turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(image, quarter_turns)) if quarter_turns else image


def _one_line(error: object) -> str:
    return " ".join(str(error).split())
