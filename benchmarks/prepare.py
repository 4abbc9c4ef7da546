"""Preprocessing throughput of ``dgfas data prepare`` on videos the size of OULU-NPU's.

Writes a corpus in OULU-NPU's layout (``Train_files/<phone>_<session>_<user>_<file>.avi``) whose
videos have OULU-NPU's frame size (1920x1080) and length (about 5 s at 30 fps), a rendered face
moving slightly in each, then prepares it as ``dgfas data prepare`` does (decode, MTCNN, crop,
FaceMesh labels, cache) with 1 and with ``--workers`` processes, and prints videos and frames per
second, and where the time of one video goes.

``--write-tree DIR`` only writes a corpus, for measuring ``dgfas data prepare`` on it from outside
(its peak memory with ``/usr/bin/time -v``); ``--layout replay`` lays it out like Idiap Replay-Attack
(``train|devel|test/real|attack/...mov``, clients 1-15, 16-30 and 31-50 as the corpus numbers them,
240x320 frames), the corpus whose full-size preparation peaked at 10.1 GB.

    python benchmarks/prepare.py [--videos 12] [--frames 150] [--width 1920] [--height 1080]
                                 [--frames-per-video 10] [--size 256] [--workers 2]
    python benchmarks/prepare.py --layout replay --videos 180 --frames 120 --width 320 --height 240 \
                                 --write-tree /tmp/replay180
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from dgfas.data.corpora import index_corpus
from dgfas.data.corpora.cache_identity import PrepareConfig
from dgfas.data.corpora.prepare import prepare_corpus
from dgfas.data.corpora.video import read_frames, write_video
from dgfas.data.corpora.video_preparer import VideoPreparer
from dgfas.data.synthetic.shoot import Video, shoot_video

#: OULU-NPU file number -> synthetic attack index (-1 live): live, print, replay
FILES = {1: -1, 2: 0, 4: 2}


#: Replay-Attack split folder -> its clients
REPLAY_CLIENTS = {"train": range(1, 16), "devel": range(16, 31), "test": range(31, 51)}
#: Replay-Attack file name per synthetic attack index (-1 live), with {c} the client and {k} a take (a session)
REPLAY_FILES = {
    -1: "real/client{c:03d}_session01_webcam_authenticate_controlled_{k}.mov",
    0: "attack/fixed/attack_print_client{c:03d}_session{k:02d}_highdef_photo_controlled.mov",
    2: "attack/hand/attack_highdef_client{c:03d}_session{k:02d}_highdef_video_adverse.mov",
}
#: Distinct rendered faces: rendering dominates writing a tree, and what is measured on it does not depend on
#: how many different people it shows.
RENDERED_SUBJECTS = 5


@functools.cache
def rendered_face(subject: int, attack: int) -> np.ndarray:
    """(4, 256, 256, 3) uint8 frames of a synthetic live face or attack."""
    return shoot_video(Video(domain="synth-oulu", subject=subject, index=0, split="train", attack=attack,
                             frames=4, size=256, seed=0))["images"]


def drifting_face_clip(subject: int, attack: int, frames: int, width: int, height: int) -> np.ndarray:
    """(frames, height, width, 3) uint8: a rendered face of half the frame height drifting across the frame."""
    face = height // 2 // 16 * 16
    shot = rendered_face(1 + subject % RENDERED_SUBJECTS, attack)
    faces = [np.asarray(Image.fromarray(f).resize((face, face), Image.Resampling.BILINEAR)) for f in shot]
    clip = np.full((frames, height, width, 3), 90, np.uint8)
    for t in range(frames):
        x = width // 2 - face // 2 + int(width / 48 * np.sin(t / 25))
        y = height // 4 + int(height / 54 * np.cos(t / 30))
        clip[t, y:y + face, x:x + face] = faces[t * len(faces) // frames]
    return clip


def oulu_like_tree(root: Path, videos: int, frames: int, width: int, height: int) -> Path:
    """``videos`` videos of ``frames`` frames in OULU-NPU's train folder."""
    for k in range(videos):
        user, (file, attack) = 1 + k // len(FILES), list(FILES.items())[k % len(FILES)]
        write_video(root / "Train_files" / f"1_1_{user:02d}_{file}.avi",
                    drifting_face_clip(user, attack, frames, width, height), fps=30)
    (root / "Dev_files").mkdir(parents=True, exist_ok=True)
    (root / "Test_files").mkdir(parents=True, exist_ok=True)
    return root


def replay_like_tree(root: Path, videos: int, frames: int, width: int, height: int) -> Path:
    """``videos`` videos named as Replay-Attack names them, spread over its splits as its 360/360/480 are.

    Each client gets a live, a print and a replay video per take, so every
    split has all three; the clips are rendered once per (client, attack) and
    encoded once per take.
    """
    per_split = {"train": videos * 3 // 10, "devel": videos * 3 // 10}
    per_split["test"] = videos - sum(per_split.values())
    for split, count in per_split.items():
        clients = list(REPLAY_CLIENTS[split])
        for k in range(count):
            client = clients[k // len(REPLAY_FILES) % len(clients)]
            take = 1 + k // (len(REPLAY_FILES) * len(clients))
            attack, name = list(REPLAY_FILES.items())[k % len(REPLAY_FILES)]
            write_video(root / split / name.format(c=client, k=take),
                        drifting_face_clip(client, attack, frames, width, height), fps=25)
    return root


def stage_seconds(index, config: PrepareConfig) -> dict[str, float]:
    """Where the time of preparing one video goes, in one process."""
    from dgfas.data.corpora.faces import square_crop

    root, entry = index.root, index.videos[0]
    preparer = VideoPreparer(root, config)
    started = time.perf_counter()
    sampled = read_frames(root / entry.relative_path, config.frames_per_video)
    decoded = time.perf_counter()
    boxes, _, _ = preparer.face_boxes(entry, sampled.frames, sampled.indices)
    detected = time.perf_counter()
    crops = [square_crop(f, b, config.size, config.margin) for f, b in zip(sampled.frames, boxes)]
    labelled_start = time.perf_counter()
    for crop in crops:
        preparer.labeller.labels(crop, live=True)
    labelled = time.perf_counter()
    return {"decode": decoded - started, "detect": detected - decoded, "crop": labelled_start - detected,
            "labels": labelled - labelled_start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=12)
    parser.add_argument("--frames", type=int, default=150, help="frames per video (OULU-NPU: about 150)")
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--frames-per-video", type=int, default=10)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--layout", choices=("oulu", "replay"), default="oulu", help="whose file names to use")
    parser.add_argument("--write-tree", type=Path, help="only write the corpus into this folder and exit")
    args = parser.parse_args()

    make_tree = {"oulu": oulu_like_tree, "replay": replay_like_tree}[args.layout]
    if args.write_tree:
        make_tree(args.write_tree, args.videos, args.frames, args.width, args.height)
        print(f"{args.layout}-like corpus of {args.videos} videos ({args.frames} frames of {args.width}x"
              f"{args.height}) in {args.write_tree}")
        return

    config = PrepareConfig(frames_per_video=args.frames_per_video, size=args.size)
    with tempfile.TemporaryDirectory() as tmp:
        root = make_tree(Path(tmp) / args.layout, args.videos, args.frames, args.width, args.height)
        index = index_corpus(args.layout, root)
        print(f"{len(index.videos)} videos of {args.frames} frames at {args.width}x{args.height}; "
              f"{args.frames_per_video} frames kept per video, {args.size} px crops")
        stages = stage_seconds(index, config)
        print("one video, one process: " + ", ".join(f"{k} {v:.2f}s" for k, v in stages.items()))
        rates = {}
        for workers in sorted({1, args.workers}):
            result = prepare_corpus(index, Path(tmp) / f"cache{workers}", config, workers=workers, progress=False)
            frames = int(result.report["frames"].sum())
            rates[workers] = len(index.videos) / result.seconds
            print(f"{workers} worker(s): {result.seconds:.1f}s, {rates[workers]:.2f} videos/s, "
                  f"{frames / result.seconds:.1f} frames/s ({int(result.report['detected'].sum())} frames detected,"
                  f" {int(result.report['no_mesh'].sum())} without a mesh)")
        if len(rates) > 1:
            print(f"{args.workers} workers / 1: {rates[args.workers] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
