"""Decoding real video files written here with PyAV, MTCNN on real and rendered faces, face files and crops."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from dgfas.data.corpora import video
from dgfas.data.corpora.faces import (
    FaceBox,
    MtcnnDetector,
    covers_frame,
    fill_missing,
    read_face_locations,
    square_crop,
)
from dgfas.data.corpora.video import VideoError, read_frames, uniform_indices
from dgfas.errors import DgfasError

# extension -> (codec, pixel format) of the containers the corpora ship
CONTAINERS = {".avi": ("mpeg4", "yuv420p"), ".mov": ("mpeg4", "yuv420p"), ".mp4": ("libx264", "yuv420p")}


def numbered_frames(count: int, height: int = 48, width: int = 64) -> np.ndarray:
    """(count, H, W, 3) frames whose green level encodes their number (8 levels apart survive compression)."""
    frames = np.zeros((count, height, width, 3), np.uint8)
    frames[..., 1] = (np.arange(count) * 8).astype(np.uint8)[:, None, None]
    return frames


def write_video(path: Path, frames: np.ndarray, codec: str = "mpeg4", pix_fmt: str = "yuv420p",
                rotation: int | None = None) -> Path:
    return video.write_video(path, frames, codec=codec, pix_fmt=pix_fmt, rotation=rotation)


def frame_numbers(frames: np.ndarray) -> np.ndarray:
    return np.round(frames[..., 1].mean(axis=(1, 2)) / 8).astype(int)


@pytest.mark.parametrize("total,count,expected", [
    (30, 5, [0, 7, 14, 22, 29]), (3, 10, [0, 1, 2]), (4, 0, [0, 1, 2, 3]), (9, 1, [0]), (0, 5, []),
    (11, 10, [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]),
])
def test_uniform_indices(total, count, expected):
    indices = uniform_indices(total, count)
    assert indices.dtype == np.int64 and indices.tolist() == expected


def test_uniform_indices_never_repeat():
    for total in range(1, 60):
        for count in range(1, 70):
            indices = uniform_indices(total, count)
            assert len(np.unique(indices)) == len(indices) == min(total, count)
            assert indices[0] == 0 and indices[-1] == total - 1 or count == 1


@pytest.mark.parametrize("extension", sorted(CONTAINERS))
def test_read_frames_from_each_container(tmp_path, extension):
    codec, pix_fmt = CONTAINERS[extension]
    path = write_video(tmp_path / f"v{extension}", numbered_frames(30), codec, pix_fmt)
    sampled = read_frames(path, 5)
    assert sampled.total == 30
    assert sampled.indices.dtype == np.int64 and sampled.indices.tolist() == [0, 7, 14, 22, 29]
    assert sampled.frames.shape == (5, 48, 64, 3) and sampled.frames.dtype == np.uint8
    assert frame_numbers(sampled.frames).tolist() == [0, 7, 14, 22, 29]


def test_mjpeg_avi_short_video_and_all_frames(tmp_path):
    path = write_video(tmp_path / "short.avi", numbered_frames(3), "mjpeg", "yuvj420p")
    sampled = read_frames(path, 10)
    assert sampled.total == 3 and sampled.indices.tolist() == [0, 1, 2] and len(sampled.frames) == 3
    assert read_frames(path, 0).indices.tolist() == [0, 1, 2]


@pytest.mark.parametrize("stated", [0, 12, 100])
def test_a_container_that_misstates_its_frame_count(tmp_path, monkeypatch, stated):
    path = write_video(tmp_path / "v.mov", numbered_frames(20))
    monkeypatch.setattr(video, "_stated_frames", lambda _: stated)
    sampled = read_frames(path, 3)
    assert sampled.total == 20 and sampled.indices.tolist() == [0, 10, 19]
    assert frame_numbers(sampled.frames).tolist() == [0, 10, 19]


def test_rotation_metadata_is_applied(tmp_path):
    frames = np.zeros((2, 48, 64, 3), np.uint8)
    frames[:, :16, :16] = 255  # a white square in the top-left corner
    sampled = read_frames(write_video(tmp_path / "r.mov", frames, rotation=90), 2)
    # 90 degrees counter-clockwise, as players show it: (W, H), the square now bottom-left
    assert sampled.frames.shape == (2, 64, 48, 3)
    assert sampled.frames[0, -8, 8].min() > 200 and sampled.frames[0, 8, 8].max() < 50


def write_audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    return path


@pytest.mark.parametrize("make,message", [
    (lambda p: p.write_bytes(b"\x00not a video" * 50), "cannot decode"),
    (lambda p: p.write_bytes(b""), "cannot decode"),
    (lambda p: None, "not found"),
    (write_audio_only, "no video stream"),
])
def test_unusable_videos_are_one_line_errors_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad.mp4"
    make(path)
    with pytest.raises(VideoError, match=message) as error:
        read_frames(path, 4)
    assert str(error.value).startswith(f"{path}: ") and "\n" not in str(error.value)
    assert isinstance(error.value, DgfasError)


@pytest.fixture(scope="module")
def detector() -> MtcnnDetector:
    return MtcnnDetector()


def test_mtcnn_finds_the_astronaut(detector):
    from skimage.data import astronaut

    (box,) = detector.detect(astronaut()[None])
    assert box is not None and box.score > 0.99
    assert box.x0 == pytest.approx(181, abs=8) and box.x1 == pytest.approx(268, abs=8)
    assert box.y0 == pytest.approx(62, abs=8) and box.y1 == pytest.approx(172, abs=8)


def test_a_large_frame_is_shrunk_for_detection_and_its_box_scaled_back(detector):
    from PIL import Image
    from skimage.data import astronaut

    large = np.asarray(Image.fromarray(astronaut()).resize((1200, 1200)))  # short side above detect_side (480)
    (box,) = detector.detect(large[None])
    assert detector.detect_side < 1200 and box is not None
    scale = 1200 / 512
    assert box.x0 == pytest.approx(181 * scale, abs=15) and box.x1 == pytest.approx(268 * scale, abs=15)
    assert box.y0 == pytest.approx(62 * scale, abs=15) and box.y1 == pytest.approx(172 * scale, abs=15)


def test_mtcnn_finds_a_rendered_face_where_it_was_placed_and_nothing_in_a_blank_frame(detector):
    from dgfas.data.synthetic.shoot import Video, shoot_video

    faces = shoot_video(Video(domain="synth-oulu", subject=3, index=0, split="train", attack=-1, frames=2, size=128,
                              seed=0))["images"]
    frames = np.full((3, 300, 400, 3), 90, np.uint8)
    frames[:2, 100:228, 200:328] = faces  # the third frame stays blank
    placed, placed_too, blank = detector.detect(frames)
    alone = detector.detect(faces)[0]
    assert blank is None and placed_too is not None
    assert placed.score > 0.99 and 200 <= placed.x0 and placed.x1 <= 328 and 100 <= placed.y0 and placed.y1 <= 228
    # the same face, found at the same place in its own frame once the offset is taken off
    assert (placed.x0 - 200, placed.y0 - 100, placed.x1 - 200, placed.y1 - 100) == pytest.approx(
        (alone.x0, alone.y0, alone.x1, alone.y1), abs=3)
    assert detector.detect(frames[:0]) == []


def test_fill_missing_borrows_the_nearest_box():
    a, b = FaceBox(0, 0, 10, 10), FaceBox(5, 5, 20, 20)
    boxes, sources = fill_missing([None, a, None, None, b, None])
    assert boxes == [a, a, a, b, b, b]
    assert sources == ["nearest_frame", "detected", "nearest_frame", "nearest_frame", "detected", "nearest_frame"]
    assert fill_missing([None, None]) == ([None, None], ["centre", "centre"])
    assert fill_missing([]) == ([], [])


def test_replay_face_locations(tmp_path):
    path = tmp_path / "client001.face"
    path.write_text("0 100 50 80 90\n1 0 0 0 0\n\n2 102 51 79 91\n")
    assert read_face_locations(path) == {0: FaceBox(100, 50, 180, 140), 2: FaceBox(102, 51, 181, 142)}


def test_siw_face_locations(tmp_path):
    path = tmp_path / "003-1-1-1-1.face"
    path.write_text("10 20 110 140\n0 0 0 0\n12.5 21 111 141\n")
    assert read_face_locations(path) == {0: FaceBox(10, 20, 110, 140), 2: FaceBox(12.5, 21, 111, 141)}


@pytest.mark.parametrize("text,message", [
    ("0 1 2 3 4\n1 2 3 4\n", "line 2: expected 5 fields"),
    ("0 1 2 3 x\n", "line 1: not a number"),
    ("0 1 2\n", "line 1: expected 5 fields"),
    ("0 1.5 2 3 4\n", "line 1: expected integers"),
])
def test_malformed_face_locations(tmp_path, text, message):
    path = tmp_path / "bad.face"
    path.write_text(text)
    with pytest.raises(DgfasError, match=message) as error:
        read_face_locations(path)
    assert str(error.value).startswith(f"{path}: ") and "\n" not in str(error.value)


def test_square_crop_geometry():
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[:, :, 0] = np.arange(200, dtype=np.uint8)[None, :]  # red encodes x
    frame[:, :, 1] = np.arange(100, dtype=np.uint8)[:, None]  # green encodes y
    frame[:, :, 2] = 200  # blue is constant, so zero padding would show
    # a 20 x 10 box centred at (60, 40): side 20 * 1.4 = 28, so x 46..73, y 26..53, kept at scale 1
    crop = square_crop(frame, FaceBox(50, 35, 70, 45), size=28)
    assert crop.shape == (28, 28, 3) and crop.dtype == np.uint8
    assert (crop[0, 0, 0], crop[0, -1, 0], crop[0, 0, 1], crop[-1, 0, 1]) == (46, 73, 26, 53)
    # a box touching the top-left corner: the part outside the frame repeats the edge pixels
    corner = square_crop(frame, FaceBox(0, 0, 20, 20), size=28, margin=0.2)
    assert (corner[:5, :, 1] == 0).all() and (corner[:, :5, 0] == 0).all() and (corner[..., 2] == 200).all()
    assert corner[-1, -1, 0] == 23 and corner[-1, -1, 1] == 23
    # no box: the centred square of side min(H, W), here x 50..149
    centre = square_crop(frame, None, size=100)
    assert (centre[0, 0, 0], centre[0, -1, 0], centre[-1, 0, 1]) == (50, 149, 99)


def test_square_crop_downscales_with_antialiasing():
    frame = np.zeros((64, 64, 3), np.uint8)
    frame[:, ::2] = 255  # one-pixel stripes: a point-sampled resize would keep only one of the two values
    crop = square_crop(frame, None, size=8)
    assert crop.shape == (8, 8, 3) and np.abs(crop.astype(int) - 128).max() <= 2


@pytest.mark.parametrize("box,covers", [
    (FaceBox(10, 10, 50, 50), True),
    (FaceBox(-30, -30, 1, 1), True),  # one pixel in the corner is enough
    (FaceBox(199, 99, 240, 140), True),
    (FaceBox(-30, 10, 0.9, 50), False),  # left of the frame, short of a whole pixel
    (FaceBox(200, 10, 240, 50), False),  # right of it
    (FaceBox(10, 100, 50, 140), False),  # below it
    (FaceBox(50, 50, 10, 10), False),  # corners swapped
])
def test_covers_frame(box, covers):
    assert covers_frame(box, 100, 200) is covers


def test_square_crop_refuses_a_box_off_the_frame_and_keeps_one_pixel_on_it():
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[:, :, 0] = np.arange(200, dtype=np.uint8)[None, :]
    with pytest.raises(ValueError, match="off the 200x100 frame"):
        square_crop(frame, FaceBox(200, 10, 240, 50), size=8)
    # a box covering only the first pixel column, without margin: the rounded square still holds that column
    crop = square_crop(frame, FaceBox(-10, 40, 1, 50), size=8, margin=0.0)
    assert (crop[..., 0] == 0).all()
    assert square_crop(frame, FaceBox(-10, 40, 1, 50), size=8)[..., 0].max() <= 2  # 0.2 margin: columns 0-2
