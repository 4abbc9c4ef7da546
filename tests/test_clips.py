"""Clips for methods that look at time: sampling, covering, batching, scoring."""

import numpy as np
import torch

from dgfas.algorithms import get_algorithm
from dgfas.data.batches import DomainBatches, make_batch
from dgfas.data.clips import VideoClips
from dgfas.evaluation import score_frames


def _shuffled(frames_factory, **kwargs):
    frames = frames_factory("d", "train", **kwargs)
    return frames.select(np.random.default_rng(1).permutation(len(frames)))


def test_random_clips_are_consecutive_frames_of_one_video(frames_factory):
    frames = _shuffled(frames_factory, videos=4, frames_per_video=6)
    clips = VideoClips(frames, 4)
    rows = clips.random_clips(np.arange(4), np.random.default_rng(0))
    assert rows.shape == (4, 4)
    for clip in rows:
        assert len(set(frames.video_id[clip])) == 1
        assert np.all(np.diff(frames.frame[clip]) == 1)


def test_a_video_shorter_than_a_clip_repeats_its_last_frame(frames_factory):
    frames = _shuffled(frames_factory, videos=2, frames_per_video=3)
    clips = VideoClips(frames, 5)
    for clip in clips.random_clips(np.array([0, 1]), np.random.default_rng(0)):
        assert list(frames.frame[clip]) == [0, 1, 2, 2, 2]
    covering, owner = clips.covering_clips()
    assert covering.shape == (2, 5) and sorted(owner) == [0, 0, 0, 1, 1, 1]


def test_covering_clips_score_every_frame_once_from_its_own_video(frames_factory):
    frames = _shuffled(frames_factory, videos=3, frames_per_video=7)
    covering, owner = VideoClips(frames, 3).covering_clips()
    # 7 frames in clips of 3: starts 0, 3 and 4 (shifted back to end on frame 6)
    assert len(covering) == 9
    for row in range(len(frames)):
        clip = covering[owner[row]]
        assert row in clip and frames.video_id[clip[0]] == frames.video_id[row]
    per_clip = np.bincount(owner, minlength=len(covering))
    assert sorted(per_clip) == [1] * 3 + [3] * 6


def test_clip_batches_keep_a_clip_together_and_flip_it_whole(frames_factory):
    frames = frames_factory("d", "train", videos=4, frames_per_video=4, size=8)
    rows = VideoClips(frames, 4).covering_clips()[0]
    flip = np.array([True, False, True, False])
    batch = make_batch(frames, rows, ("depth", "pulse", "reflection"), torch.device("cpu"), flip)
    plain = make_batch(frames, rows, ("depth", "pulse", "reflection"), torch.device("cpu"), None)
    assert batch.image.shape == (4, 4, 3, 8, 8) and batch.label.shape == (4,)
    assert batch.depth.shape == (4, 4, 1, 8, 8) and batch.pulse.shape == (4, 4) and batch.reflection.shape == (4, 4, 3, 8, 8)
    assert torch.equal(batch.image[0], plain.image[0].flip(-1)) and torch.equal(batch.image[1], plain.image[1])
    assert torch.equal(batch.pulse, plain.pulse)
    np.testing.assert_array_equal(batch.label.numpy(), frames.label[rows[:, 0]])


def test_a_clip_method_draws_balanced_clips(frames_factory):
    frames = frames_factory("d", "train", videos=6, frames_per_video=4)
    rows = DomainBatches(frames, 4, np.random.default_rng(0)).draw_rows(16)
    assert rows.shape == (4, 4)
    assert sorted(frames.label[rows[:, 0]]) == [0, 0, 1, 1]
    assert DomainBatches(frames, 1, np.random.default_rng(0)).draw_rows(16).shape == (16,)


class _FirstFrameBrightness(torch.nn.Module):
    """A stand-in clip method: the score is the mean of a clip's first frame."""

    clip_length = 3
    memory_format = torch.channels_last

    def predict(self, x):
        assert x.dim() == 5 and x.shape[1] == 3
        return torch.sigmoid(x[:, 0].mean((1, 2, 3)))


def test_scoring_gives_each_frame_its_clip_score(frames_factory):
    frames = _shuffled(frames_factory, videos=2, frames_per_video=5)
    table = score_frames(_FirstFrameBrightness(), frames, torch.device("cpu"), chunk=3)
    covering, owner = VideoClips(frames, 3).covering_clips()
    first = make_batch(frames, covering[:, 0], (), torch.device("cpu"), None).image
    expected = torch.sigmoid(first.mean((1, 2, 3))).numpy()[owner]
    np.testing.assert_allclose(table["score"].to_numpy(), expected, rtol=1e-6)
    assert list(table["video_id"]) == list(frames.video_id)


def test_auxiliary_learns_the_pulse_spectrum_on_fixed_clips(frames_factory):
    torch.manual_seed(0)
    from dgfas.models.resnet import ResNetConfig

    cls = get_algorithm("auxiliary")
    algorithm = cls(cls.Config(clip_length=3, lr=3e-3), ResNetConfig(width=0.125), ["a"])
    frames = frames_factory("a", "train", videos=4, frames_per_video=3)
    batch = make_batch(frames, VideoClips(frames, 3).covering_clips()[0], cls.maps, torch.device("cpu"), None)
    first = algorithm.update({"a": batch})
    for _ in range(30):
        last = algorithm.update({"a": batch})
    assert last["rppg"] < 0.5 * first["rppg"] and last["depth"] < first["depth"]
