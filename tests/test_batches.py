"""The data path: batches cut from uint8 frames and compact maps, drawn in a fixed order."""

import dataclasses

import numpy as np
import torch

from dgfas.algorithms.base import IMAGENET_MEAN, IMAGENET_STD
from dgfas.data.batches import FrameTensors, TrainingBatches, make_batch, normalize, to_input


def test_normalize_matches_the_imagenet_formula_in_either_memory_format():
    images = torch.randint(0, 256, (4, 5, 7, 3), dtype=torch.uint8)
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    expected = (images.permute(0, 3, 1, 2).float() / 255 - mean) / std
    for memory_format in (torch.channels_last, torch.contiguous_format):
        x = normalize(images, memory_format)
        assert x.shape == (4, 3, 5, 7) and x.is_contiguous(memory_format=memory_format)
        torch.testing.assert_close(x, expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(to_input(images.numpy(), torch.device("cpu")), expected, rtol=0, atol=1e-5)


def test_a_flipped_row_mirrors_its_image_and_maps_and_uint8_maps_are_scaled_to_unit_range(frames_factory):
    frames = frames_factory("d", "train", videos=2, frames_per_video=2, size=8)
    compact = dataclasses.replace(frames, depth=(frames.depth.astype(np.float32) * 255).round().astype(np.uint8),
                                  reflection=(frames.reflection.astype(np.float32) * 255).round().astype(np.uint8))
    rows, flip = np.array([0, 3, 1]), np.array([True, False, True])
    maps = ("depth", "parsing", "reflection", "pulse")
    plain = make_batch(frames, rows, maps, torch.device("cpu"), None)
    for source in (frames, compact):
        batch = make_batch(source, rows, maps, torch.device("cpu"), flip)
        for name in ("image", "depth", "parsing", "reflection"):
            value, reference = getattr(batch, name), getattr(plain, name)
            torch.testing.assert_close(value[0], reference[0].flip(-1), atol=1 / 255, rtol=0)
            torch.testing.assert_close(value[1], reference[1], atol=1 / 255, rtol=0)
        assert batch.depth.dtype == torch.float32 and batch.depth.shape == (3, 1, 8, 8)
        assert batch.reflection.shape == (3, 3, 8, 8) and batch.parsing.dtype == torch.int64
        assert torch.equal(batch.pulse, plain.pulse)
    # the uint8 maps hold value * 255, so they give back the float maps' values
    torch.testing.assert_close(make_batch(compact, rows, maps, torch.device("cpu"), None).depth, plain.depth,
                               atol=0.6 / 255, rtol=0)
    assert FrameTensors.nbytes(compact, ("depth",)) == compact.images.nbytes + compact.depth.nbytes


def _stream(frames_factory, prefetch: bool, seed: int = 0) -> TrainingBatches:
    domains = {d: frames_factory(d, "train", seed=i, size=8) for i, d in enumerate("abc")}
    return TrainingBatches(domains, ("depth",), 1, 4, True, np.random.default_rng(seed), torch.device("cpu"),
                           prefetch=prefetch)


def test_prefetching_gives_the_same_batches_and_resumes_from_the_delivered_step(frames_factory):
    plain, prefetched = _stream(frames_factory, False), _stream(frames_factory, True)
    try:
        for _ in range(3):
            for batch, other in zip(plain.next().values(), prefetched.next().values()):
                assert torch.equal(batch.image, other.image) and torch.equal(batch.depth, other.depth)
        # the prefetcher has drawn step 4 already; its state is still that after step 3
        saved = prefetched.state()
        assert saved["numpy_rng"] == plain.state()["numpy_rng"]
        resumed = _stream(frames_factory, True, seed=99)
        resumed.load_state(saved)
        for batch, other in zip(plain.next().values(), resumed.next().values()):
            assert torch.equal(batch.image, other.image) and torch.equal(batch.label, other.label)
        resumed.close()
    finally:
        prefetched.close()
