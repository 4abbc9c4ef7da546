"""Preprocessing throughput of ``dgfas data prepare`` on videos the size of OULU-NPU's.

Writes a corpus in OULU-NPU's layout (``Train_files/<phone>_<session>_<user>_<file>.avi``) whose
videos have OULU-NPU's frame size (1920x1080) and length (about 5 s at 30 fps), a rendered face
moving slightly in each, then prepares it as ``dgfas data prepare`` does (decode, MTCNN, crop,
FaceMesh labels, cache) with 1 and with ``--workers`` processes, and prints videos and frames per
second, and where the time of one video goes.

    python benchmarks/prepare.py [--videos 12] [--frames 150] [--width 1920] [--height 1080]
                                 [--frames-per-video 10] [--size 256] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from dgfas.data.corpora import index_corpus
from dgfas.data.corpora.cache import PrepareConfig
from dgfas.data.corpora.prepare import VideoPreparer, prepare_corpus
from dgfas.data.corpora.video import read_frames, write_video
from dgfas.data.synthetic.domains import Video, shoot_video

#: OULU-NPU file number -> synthetic attack index (-1 live): live, print, replay
FILES = {1: -1, 2: 0, 4: 2}


def oulu_like_tree(root: Path, videos: int, frames: int, width: int, height: int) -> Path:
    """``videos`` videos of ``frames`` frames, a face of half the frame height drifting across the frame."""
    face = height // 2 // 16 * 16
    for k in range(videos):
        user, (file, attack) = 1 + k // len(FILES), list(FILES.items())[k % len(FILES)]
        shot = shoot_video(Video(domain="synth-oulu", subject=user, index=file, split="train", attack=attack,
                                 frames=4, size=256, seed=0))["images"]
        faces = [np.asarray(Image.fromarray(f).resize((face, face), Image.Resampling.BILINEAR)) for f in shot]
        clip = np.full((frames, height, width, 3), 90, np.uint8)
        for t in range(frames):
            x = width // 2 - face // 2 + int(40 * np.sin(t / 25))
            y = height // 4 + int(20 * np.cos(t / 30))
            clip[t, y:y + face, x:x + face] = faces[t * len(faces) // frames]
        write_video(root / "Train_files" / f"1_1_{user:02d}_{file}.avi", clip, fps=30)
        (root / "Dev_files").mkdir(exist_ok=True)
        (root / "Test_files").mkdir(exist_ok=True)
    return root


def stage_seconds(root: Path, cache: Path, config: PrepareConfig) -> dict[str, float]:
    """Where the time of preparing one video goes, in one process."""
    from dgfas.data.corpora.faces import square_crop

    entry = index_corpus("oulu", root).videos[0]
    preparer = VideoPreparer(root, cache, config)
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
    args = parser.parse_args()

    config = PrepareConfig(frames_per_video=args.frames_per_video, size=args.size)
    with tempfile.TemporaryDirectory() as tmp:
        root = oulu_like_tree(Path(tmp) / "oulu", args.videos, args.frames, args.width, args.height)
        index = index_corpus("oulu", root)
        print(f"{len(index.videos)} videos of {args.frames} frames at {args.width}x{args.height}; "
              f"{args.frames_per_video} frames kept per video, {args.size} px crops")
        stages = stage_seconds(root, Path(tmp) / "stages", config)
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
