"""A data source of random frames of a chosen size on disk, in the frame-cache format, for memory and speed benchmarks.

Rendering or preparing gigabytes of frames takes long; what the trainer's
memory and data path depend on is only the cache's size and format. This
writes four domains O, C, I and M (train/dev/test subjects, live and spoof
videos of several frames, every map) of random bytes with the synthetic
loader's own writer (:class:`dgfas.data.frame_cache.FrameCacheWriter`), one
video at a time, and registers them as a data source every protocol runs on:

    name = write_fake_source(Path("cache"), gib=2.0, image_size=256)
    resolve(RunSpec(protocol="OCI-M", method="erm", preset="paper", data_source=name), DataOptions(cache_dir=...))

or, from the shell (writes the cache and prints its data-source name and size):

    python benchmarks/fake_cache.py --cache /tmp/fake --gib 2 --size 256
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import time
from pathlib import Path

import numpy as np

from dgfas.data.frame_cache import CACHE_FORMAT, FrameCacheWriter, read_frame_cache, read_manifest
from dgfas.data.frames import SPLITS, FrameSet
from dgfas.data.registry import DATASETS, DataOptions, register_dataset
from dgfas.data.sources import DATA_SOURCES
from dgfas.errors import DgfasError

LETTERS = ("O", "C", "I", "M")
#: live, print, replay: the videos of one subject.
VIDEO_KINDS = ("none", "print", "replay")
FRAMES_PER_VIDEO = 8
#: Share of a domain's subjects in (train, dev, test).
SPLIT_SHARES = (0.6, 0.2, 0.2)


def frame_bytes(image_size: int) -> int:
    """Bytes one frame takes on disk: uint8 image (3), depth (1), parsing (1), reflection (3); float32 pulse."""
    return 8 * image_size * image_size + 4


def _subjects_per_split(gib: float, image_size: int) -> tuple[int, ...]:
    frames_per_domain = gib * 2**30 / frame_bytes(image_size) / len(LETTERS)
    subjects = frames_per_domain / (FRAMES_PER_VIDEO * len(VIDEO_KINDS))
    return tuple(max(2, round(subjects * share)) for share in SPLIT_SHARES)


def _video(rng: np.random.Generator, size: int, kind: str) -> dict[str, np.ndarray]:
    n, live = FRAMES_PER_VIDEO, kind == "none"

    def noise(*shape: int) -> np.ndarray:
        return np.frombuffer(rng.bytes(int(np.prod(shape))), np.uint8).reshape(shape)

    return {
        "images": noise(n, size, size, 3),
        "depth": noise(n, size, size) if live else np.zeros((n, size, size), np.uint8),
        "parsing": (noise(n, size, size) % 7).astype(np.uint8),
        "reflection": np.zeros((n, size, size, 3), np.uint8) if live else noise(n, size, size, 3),
        "pulse": (np.sin(np.arange(n) * 0.6) if live else np.zeros(n)).astype(np.float32),
    }


def _write_domain(folder: Path, dataset: str, subjects: tuple[int, ...], size: int, seed: int) -> None:
    videos = sum(subjects) * len(VIDEO_KINDS)
    with FrameCacheWriter(folder, dataset, videos * FRAMES_PER_VIDEO, size) as writer:
        subject = 0
        for split, count in zip(SPLITS, subjects):
            for _ in range(count):
                for k, kind in enumerate(VIDEO_KINDS):
                    rng = np.random.default_rng([seed, subject, k])  # each video its own stream
                    n = FRAMES_PER_VIDEO
                    writer.append(
                        **_video(rng, size, kind),
                        label=np.full(n, int(kind == "none")), attack_type=np.full(n, kind),
                        video_id=np.full(n, f"{dataset}/{split}_s{subject}_{kind}"), frame=np.arange(n),
                        subject=np.full(n, subject), split=np.full(n, split),
                    )
                subject += 1


def _load(folder: Path, image_size: int, split: str, *, options: DataOptions) -> FrameSet:
    if options.image_size != image_size:
        raise DgfasError(f"fake cache {folder} holds {image_size} px frames, the run asks for {options.image_size} px")
    return read_frame_cache(folder).split_rows(split)


def cache_root(cache_dir: Path, gib: float, image_size: int) -> Path:
    """The folder holding the four domains' caches: named by what their content depends on."""
    subjects = "-".join(map(str, _subjects_per_split(gib, image_size)))
    return Path(cache_dir).resolve() / f"fake-v{CACHE_FORMAT}-{image_size}px-{subjects}"


def write_fake_source(cache_dir: Path, gib: float, image_size: int) -> str:
    """Write (or reuse) about ``gib`` GiB of random frames under ``cache_dir`` and register them.

    Returns:
        the data-source name binding O, C, I and M to the four fake datasets.
    """
    if gib <= 0 or image_size < 8:
        raise DgfasError(f"a fake cache needs gib > 0 and image_size >= 8, got {gib} and {image_size}")
    subjects = _subjects_per_split(gib, image_size)
    root = cache_root(cache_dir, gib, image_size)
    # named by its folder, so caches in two places can be registered in one process
    name = f"fake-{hashlib.sha256(str(root).encode()).hexdigest()[:8]}"
    for i, letter in enumerate(LETTERS):
        folder, dataset = root / letter, f"{name}-{letter}"
        if read_manifest(folder) is None:
            _write_domain(folder, dataset, subjects, image_size, seed=i)
        if dataset not in DATASETS:
            register_dataset(dataset)(functools.partial(_load, folder, image_size))
    if name not in DATA_SOURCES:
        DATA_SOURCES.add(name, {letter: f"{name}-{letter}" for letter in LETTERS})
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="folder the fake cache is written under")
    parser.add_argument("--gib", type=float, default=1.0, help="size on disk, in GiB")
    parser.add_argument("--size", type=int, default=256, help="image side, in pixels")
    args = parser.parse_args()
    started = time.perf_counter()
    name = write_fake_source(args.cache, args.gib, args.size)
    root = cache_root(args.cache, args.gib, args.size)
    written = sum(path.stat().st_size for path in root.rglob("*") if path.is_file())
    print(f"data source {name}: {written / 2**30:.2f} GiB in {root} "
          f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
