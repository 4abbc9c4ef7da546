"""Seconds per frame of synthetic generation, per domain and overall, in one process.

Shoots the first ``--subjects`` subjects of every synthetic domain as
:func:`dgfas.data.synthetic.generate.plan_videos` plans them (each subject:
one live video and one of each of the domain's attacks, so the mix of lives,
prints and replays is the dataset's), ``--frames`` frames a video, at
``--size`` pixels, and times :func:`dgfas.data.synthetic.shoot.shoot_video`.

Wall-clock seconds are the figure; CPU seconds of the process are printed
beside them because they vary less on a machine shared with other jobs.

``--save-ref FILE`` keeps the shot videos; ``--compare-ref FILE`` compares
this run's videos with such a file, video by video, so a change to the
generator can be checked for "same kind of frames": mean absolute difference
of images (uint8 levels) and depth (in [0, 1]), parsing agreement, and mean
and standard deviation of the image levels of both runs.

    python benchmarks/synthetic_generation.py [--size 256] [--subjects 1] [--frames 8]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from dgfas.atomic import atomic_write
from dgfas.data.registry import DataOptions
from dgfas.data.synthetic.domains import DOMAINS
from dgfas.data.synthetic.generate import get_scale, plan_videos
from dgfas.data.synthetic.shoot import Video, shoot_video

#: The maps compared by ``--compare-ref`` besides the images.
MAPS = ("images", "depth", "parsing", "reflection")


def benchmark_videos(size: int, subjects: int, frames: int, seed: int) -> dict[str, list[Video]]:
    """Domain -> its first ``subjects`` subjects' videos, ``frames`` frames each."""
    with tempfile.TemporaryDirectory() as unused_cache:
        options = DataOptions(cache_dir=Path(unused_cache), image_size=size, scale="fast", seed=seed, progress=False)
        plans = {name: plan_videos(name, options) for name in DOMAINS}
    return {
        name: [dataclasses.replace(video, frames=frames)
               for video in videos[: subjects * DOMAINS[name].videos_per_group]]
        for name, videos in plans.items()
    }


def compare(shots: dict[str, np.ndarray], reference: np.lib.npyio.NpzFile, name: str) -> str:
    """One line of figures: this run's videos of ``name`` against the reference's."""
    images = shots["images"].astype(np.float32)
    ref_images = reference[f"{name}/images"].astype(np.float32)
    if images.shape != ref_images.shape:
        return f"{name}: shapes differ ({images.shape} vs {ref_images.shape}), nothing compared"
    depth_mad = np.abs(shots["depth"].astype(np.float32) - reference[f"{name}/depth"].astype(np.float32)).mean()
    reflection_mad = np.abs(
        shots["reflection"].astype(np.float32) - reference[f"{name}/reflection"].astype(np.float32)
    ).mean()
    agreement = (shots["parsing"] == reference[f"{name}/parsing"]).mean()
    return (
        f"{name}: image MAD {np.abs(images - ref_images).mean():.2f} levels, depth MAD {depth_mad:.4f}, "
        f"reflection MAD {reflection_mad:.4f}, parsing agreement {agreement:.3f}, "
        f"image mean/std {images.mean():.1f}/{images.std():.1f} (ref {ref_images.mean():.1f}/{ref_images.std():.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="image side in pixels")
    parser.add_argument("--subjects", type=int, default=1, help="subjects per domain (a live video and every attack)")
    parser.add_argument("--frames", type=int, default=8, help="frames per video")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-ref", type=Path, help="write the shot videos to this .npz")
    parser.add_argument("--compare-ref", type=Path, help="compare the shot videos with this .npz")
    args = parser.parse_args()
    most_subjects = sum(get_scale("fast").subjects)
    if args.size < 16 or args.frames < 1 or not 1 <= args.subjects <= most_subjects:
        parser.error(f"need --size >= 16, --frames >= 1 and 1 <= --subjects <= {most_subjects}")
    if args.compare_ref is not None and not args.compare_ref.is_file():
        parser.error(f"--compare-ref {args.compare_ref}: no such file")

    plans = benchmark_videos(args.size, args.subjects, args.frames, args.seed)
    # untimed: loads the face asset and builds the per-process tables (another seed, so no video is cached)
    shoot_video(dataclasses.replace(plans[next(iter(plans))][0], frames=1, size=32, seed=args.seed + 1))
    shot: dict[str, dict[str, np.ndarray]] = {}
    total_seconds, total_cpu, total_frames = 0.0, 0.0, 0
    print(f"size {args.size}, {args.subjects} subject(s) a domain, {args.frames} frames a video, seed {args.seed}")
    for name, videos in plans.items():
        start, start_cpu = time.perf_counter(), time.process_time()
        videos_shot = [shoot_video(video) for video in videos]
        seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        frames = sum(len(v["images"]) for v in videos_shot)
        total_seconds, total_cpu, total_frames = total_seconds + seconds, total_cpu + cpu, total_frames + frames
        shot[name] = {key: np.concatenate([v[key] for v in videos_shot]) for key in MAPS}
        print(f"{name}: {seconds / frames:.3f} s per frame, {cpu / frames:.3f} CPU s "
              f"({len(videos)} videos, {frames} frames, {seconds:.1f} s)")
    print(f"overall: {total_seconds / total_frames:.3f} s per frame, {total_cpu / total_frames:.3f} CPU s "
          f"({total_frames} frames, {total_seconds:.1f} s)")

    if args.save_ref is not None:
        arrays = {f"{name}/{key}": array for name, maps in shot.items() for key, array in maps.items()}
        atomic_write(args.save_ref, lambda file: np.savez_compressed(file, **arrays))
        print(f"saved {args.save_ref}")
    if args.compare_ref is not None:
        with np.load(args.compare_ref) as reference:
            for name, maps in shot.items():
                print(compare(maps, reference, name))


if __name__ == "__main__":
    main()
