"""Images per second a training step can be fed: the frame cache against JPEG crops decoded per step.

Older DG-FAS code keeps each face crop (and its depth map) as an image file
and decodes them in DataLoader workers at every step. dgfas prepares a
corpus once into memory-mapped arrays (``dgfas.data.corpora.cache``) and
gathers a step's rows from them. Both paths here deliver the same thing to
the accelerator: a (B, H, W, 3) uint8 image batch and its (B, H, W) depth
maps (uint8 from the cache, 8-bit PNG from files), conversion to float and
normalization being done on the device in both cases. The cache path reads
the rows of the split a run selected, as the trainer does: ``FrameSet``
selection is a view of the memory maps (:class:`dgfas.data.frames.RowView`),
and each step reads its rows from them. The figures and their ratio are
printed; the goal is a ratio of at least 20.

    python benchmarks/loader.py [--size 256] [--frames 2000] [--batch 48] [--steps 40] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dgfas.data.corpora.cache import load_consolidated
from dgfas.data.corpora.cache_writer import FrameWriter
from dgfas.data.corpora.index import CorpusIndex, VideoEntry

#: Frames per video of the benchmark's cache, as ``dgfas data prepare`` keeps by default.
FRAMES_PER_VIDEO = 10


def smooth_images(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """(n, size, size, 3) uint8 images with smooth structure and a little noise, as face crops have.

    JPEG decoding cost depends on content, so the images are neither flat
    nor white noise.
    """
    coarse = rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)
    smooth = np.stack([np.asarray(Image.fromarray(c).resize((size, size), Image.BICUBIC)) for c in coarse])
    noise = rng.integers(-6, 7, smooth.shape)
    return np.clip(smooth.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def write_cache(folder: Path, images: np.ndarray, depth: np.ndarray) -> None:
    """The cache ``dgfas data prepare`` writes (its own writer), filled with ``images`` and ``depth``.

    Videos of ``FRAMES_PER_VIDEO`` frames of one live train subject.
    """
    size = images.shape[1]
    starts = range(0, len(images), FRAMES_PER_VIDEO)
    videos = [VideoEntry(f"v{k}.avi", "train", "live", "none", 1) for k in range(len(starts))]
    with FrameWriter(folder, size) as writer:
        for video, start in zip(videos, starts):
            rows = slice(start, start + FRAMES_PER_VIDEO)
            count = len(images[rows])
            maps = {"images": images[rows], "depth": depth[rows], "parsing": np.zeros((count, size, size), np.uint8),
                    "reflection": np.zeros((count, size, size, 3), np.uint8)}
            meta = {"frame": list(range(count)), "face_source": ["detected"] * count, "mesh_found": [True] * count}
            writer.append(video.relative_path, maps, meta, {"relative_path": video.relative_path, "status": "ok"})
        writer.finish(CorpusIndex("bench", folder, videos, []))


def write_jpegs(folder: Path, images: np.ndarray, depth: np.ndarray) -> list[tuple[Path, Path]]:
    """One JPEG crop and one PNG depth map per frame, as the older code stores them."""
    folder.mkdir(parents=True)
    files = []
    for i, (image, depth_map) in enumerate(zip(images, depth)):
        image_path, depth_path = folder / f"{i:06d}.jpg", folder / f"{i:06d}_depth.png"
        Image.fromarray(image).save(image_path, quality=95)
        Image.fromarray(depth_map).save(depth_path)
        files.append((image_path, depth_path))
    return files


class JpegCrops(torch.utils.data.Dataset):
    """Decodes a crop and its depth map at every access."""

    def __init__(self, files: list[tuple[Path, Path]]) -> None:
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image_path, depth_path = self.files[i]
        image = torch.from_numpy(np.array(Image.open(image_path).convert("RGB")))
        depth = torch.from_numpy(np.array(Image.open(depth_path)))
        return image, depth


def images_per_second_from_cache(folder: Path, batch: int, steps: int, rng: np.random.Generator) -> float:
    """Rows gathered as the trainer gathers them: from the split it selected out of the memory maps."""
    frames = load_consolidated(folder, "bench").split_rows("train")

    def step() -> None:
        rows = rng.choice(len(frames), batch, replace=False)
        torch.from_numpy(frames.images[rows])
        torch.from_numpy(frames.depth[rows])

    step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - started)


def images_per_second_from_jpegs(files: list[tuple[Path, Path]], batch: int, steps: int, workers: int) -> float:
    loader = torch.utils.data.DataLoader(JpegCrops(files), batch_size=batch, shuffle=True, num_workers=workers,
                                         drop_last=True, persistent_workers=workers > 0)
    iterator = iter(loader)
    next(iterator)  # workers started and warm
    started = time.perf_counter()
    seen = 0
    while seen < steps:
        try:
            next(iterator)
        except StopIteration:
            iterator = iter(loader)
            continue
        seen += 1
    return batch * steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="crop side (the paper preset's)")
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=48, help="images per step (3 source domains x 16)")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the JPEG path")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    images = smooth_images(args.frames, args.size, rng)
    depth = images.mean(-1).astype(np.uint8)  # 0-255 codes, as the cache stores depth
    with tempfile.TemporaryDirectory() as tmp:
        write_cache(Path(tmp) / "cache", images, depth)
        files = write_jpegs(Path(tmp) / "jpeg", images, depth)
        cached = images_per_second_from_cache(Path(tmp) / "cache", args.batch, args.steps, rng)
        decoded = images_per_second_from_jpegs(files, args.batch, args.steps, args.workers)
    print(f"{args.frames} frames of {args.size}x{args.size}, batches of {args.batch}, {args.steps} steps, "
          f"{torch.get_num_threads()} torch threads")
    print(f"frame cache (memory-mapped arrays): {cached:,.0f} images/s")
    print(f"JPEG crops decoded per step ({args.workers} DataLoader workers): {decoded:,.0f} images/s")
    print(f"cache / JPEG: {cached / decoded:.1f}x (goal >= 20x)")


if __name__ == "__main__":
    main()
