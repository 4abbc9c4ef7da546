import numpy as np
import pytest

from dgfas.data.frames import FrameSet


def make_frames(domain: str, split: str, *, videos: int = 6, frames_per_video: int = 3, size: int = 32, seed: int = 0) -> FrameSet:
    """A hand-made domain whose live frames are brighter, with every map filled in."""
    rng = np.random.default_rng(seed)
    n = videos * frames_per_video
    label = np.repeat(np.arange(videos) % 2, frames_per_video).astype(np.int64)
    images = rng.integers(0, 120, size=(n, size, size, 3), dtype=np.uint8) + (label * 100).astype(np.uint8)[:, None, None, None]
    depth = np.where(label[:, None, None] == 1, 0.5, 0.0).astype(np.float16) * np.ones((n, size, size), np.float16)
    reflection = np.where(label[:, None, None, None] == 0, 0.1, 0.0).astype(np.float16) * np.ones((n, size, size, 3), np.float16)
    frame = np.tile(np.arange(frames_per_video), videos).astype(np.int64)
    pulse = (np.sin(2 * np.pi * 0.3 * frame) * label).astype(np.float32)
    return FrameSet(
        domain=domain,
        images=images,
        label=label,
        attack_type=np.where(label == 1, "none", np.where(np.arange(n) // frames_per_video % 4 < 2, "print", "replay")),
        video_id=np.array([f"{domain}/{split}_v{i // frames_per_video}" for i in range(n)]),
        frame=frame,
        subject=np.repeat(np.arange(videos) // 2, frames_per_video).astype(np.int64),
        split=np.full(n, split),
        depth=depth,
        parsing=rng.integers(0, 7, size=(n, size, size), dtype=np.uint8),
        reflection=reflection,
        pulse=pulse,
    )


@pytest.fixture
def frames_factory():
    return make_frames


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory):
    """One synthetic frame cache for the tests that run the tiny preset: the first builds it (~10 s), the rest reuse it."""
    return tmp_path_factory.mktemp("tiny-cache")


@pytest.fixture(scope="session")
def generated_tiny_cache(tiny_cache):
    """:func:`tiny_cache` with the synthetic domains already built, for tests whose subprocesses (timed, killed)
    must not spend their time building it."""
    from dgfas.cli import main

    assert main(["data", "generate", "--preset", "tiny", "--cache", str(tiny_cache), "--no-progress"]) == 0
    return tiny_cache
