"""Small copies of every real corpus, with real video files: the names and folders of the distributed
layouts, the content rendered by the synthetic face generator and encoded with PyAV in each corpus's
container (``.avi``, ``.mov``, ``.mp4``).

Each tree holds a few subjects per split with one live, one print and one replay video each, so a
tree goes through index, prepare and a short training run in seconds.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from dgfas.data.corpora.video import write_video

#: frame size of the fixture videos (height, width): the face fills about half the height
FRAME_SHAPE = (120, 160)
FACE_SIZE = 80
FACE_AT = (18, 44)  # top-left corner (row, column) of the face render in the frame
FRAMES = 5
#: synthetic attack index of a print and a replay in each stand-in domain (``DOMAINS[name].attacks``)
PRINT, REPLAY = 0, 2

@functools.cache
def face_frames(domain: str, subject: int, attack: int) -> np.ndarray:
    """(FRAMES, H, W, 3) uint8: a rendered live face or attack, on a grey background."""
    from dgfas.data.synthetic.shoot import Video, shoot_video

    video = Video(domain=domain, subject=subject, index=0, split="train", attack=attack, frames=FRAMES,
                  size=FACE_SIZE, seed=0)
    frames = np.full((FRAMES, *FRAME_SHAPE, 3), 128, np.uint8)
    row, col = FACE_AT
    frames[:, row:row + FACE_SIZE, col:col + FACE_SIZE] = shoot_video(video)["images"]
    return frames


def _videos(root: Path, domain: str, names: dict[str, tuple[int, int]]) -> Path:
    """Write ``relative path -> (subject, synthetic attack index or -1)``."""
    for relative_path, (subject, attack) in names.items():
        write_video(root / relative_path, face_frames(domain, subject, attack))
    return root


def make_oulu(root: Path) -> Path:
    names = {}
    for folder, users in (("Train_files", (1, 2)), ("Dev_files", (21, 22)), ("Test_files", (36, 37))):
        for user in users:
            for file, attack in ((1, -1), (2, PRINT), (4, REPLAY)):
                names[f"{folder}/1_1_{user:02d}_{file}.avi"] = (user, attack)
    return _videos(root, "synth-oulu", names)


def make_casia(root: Path) -> Path:
    names = {}
    for folder, offset in (("train_release", 0), ("test_release", 20)):
        for n in (1, 2, 3):
            for stem, attack in (("1", -1), ("3", PRINT), ("7", REPLAY)):
                names[f"{folder}/{n}/{stem}.avi"] = (offset + n, attack)
    return _videos(root, "synth-casia", names)


def make_replay(root: Path, *, face_locations: bool = True) -> Path:
    """Replay-Attack; with Idiap's face-locations tree for the first train video (``frame x y w h`` lines)."""
    names = {}
    for folder, clients in (("train", (1, 2)), ("devel", (16, 17)), ("test", (31, 32))):
        for client in clients:
            names[f"{folder}/real/client{client:03d}_session01_webcam_authenticate_controlled_1.mov"] = (client, -1)
            names[f"{folder}/attack/fixed/attack_print_client{client:03d}_session01_highdef_photo_controlled.mov"] = (
                client, 0)
            names[f"{folder}/attack/hand/attack_highdef_client{client:03d}_session01_highdef_video_adverse.mov"] = (
                client, REPLAY)
    _videos(root, "synth-replay", names)
    if face_locations:
        first = "train/real/client001_session01_webcam_authenticate_controlled_1"
        (root / "face-locations" / first).parent.mkdir(parents=True)
        row, col = FACE_AT
        lines = [f"{f} {col + 8} {row + 6} {FACE_SIZE - 16} {FACE_SIZE - 8}" for f in range(FRAMES)]
        (root / "face-locations" / f"{first}.face").write_text("\n".join(lines) + "\n")
    return root


def make_msu(root: Path) -> Path:
    names = {}
    for client in (2, 3, 5, 1, 13, 14):
        names[f"scene01/real/real_client{client:03d}_android_SD_scene01.mp4"] = (client, -1)
        names[f"scene01/attack/attack_client{client:03d}_android_SD_printed_photo_scene01.mp4"] = (client, PRINT)
        names[f"scene01/attack/attack_client{client:03d}_laptop_SD_ipad_video_scene01.mov"] = (client, 1)
    _videos(root, "synth-msu", names)
    (root / "train_sub_list.txt").write_text("02\n03\n05")
    (root / "test_sub_list.txt").write_text("01\n13\n14")
    return root


def make_siw(root: Path) -> Path:
    """SiW; the first live video has its ``.face`` file (``x1 y1 x2 y2`` per frame), and the last test
    subject's replay is named ``.m.mov``, as 16 of the official videos are."""
    names = {}
    for folder, subjects in (("Train", (1, 2)), ("Test", (91, 92))):
        for subject in subjects:
            for kind, label, attack in ((1, "live", -1), (2, "spoof", PRINT), (3, "spoof", REPLAY)):
                names[f"{folder}/{label}/{subject:03d}/{subject:03d}-1-{kind}-1-1.mov"] = (subject, attack)
    names["Test/spoof/092/092-1-3-1-1.m.mov"] = names.pop("Test/spoof/092/092-1-3-1-1.mov")
    _videos(root, "synth-oulu", names)
    row, col = FACE_AT
    box = f"{col + 6} {row + 4} {col + FACE_SIZE - 6} {row + FACE_SIZE}"
    (root / "Train/live/001/001-1-1-1-1.face").write_text("\n".join([box] * FRAMES) + "\n")
    return root


#: corpus -> (tree maker, videos, subjects per split)
CORPUS_TREES = {
    "oulu": (make_oulu, 18, {"train": 2, "dev": 2, "test": 2}),
    "casia": (make_casia, 18, {"train": 3, "test": 3}),
    "replay": (make_replay, 18, {"train": 2, "dev": 2, "test": 2}),
    "msu": (make_msu, 18, {"train": 3, "test": 3}),
    "siw": (make_siw, 12, {"train": 2, "test": 2}),
}
