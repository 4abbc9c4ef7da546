"""Faults a checkpoint meets: planted, damaged, of an older format, cut mid-write.

A planted or damaged checkpoint must be one error line naming the file and
what to do, with nothing in it executed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from dgfas import checkpoints
from dgfas.algorithms import get_algorithm
from dgfas.data.frames import concat_frames
from dgfas.errors import DgfasError
from dgfas.models.resnet import ResNetConfig
from dgfas.protocols import get_protocol
from dgfas.trainer import CHECKPOINT_FORMAT, ResolvedRun, RunSpec, TrainerConfig, train

def _run(frames_factory, steps: int = 6) -> ResolvedRun:
    protocol = get_protocol("OCI-M")
    return ResolvedRun(
        spec=RunSpec(protocol="OCI-M", method="erm", seed=0, preset="tiny"),
        protocol=protocol,
        algorithm_config=get_algorithm("erm").Config(),
        model_config=ResNetConfig(width=0.125),
        trainer_config=TrainerConfig(steps=steps, batch_per_domain=4, eval_every=2, device="cpu"),
        source_train={d: frames_factory(f"synth-{d}", "train", seed=i) for i, d in enumerate(protocol.sources)},
        source_val=concat_frames([frames_factory(f"synth-{d}", "dev", seed=10 + i)
                                  for i, d in enumerate(protocol.sources)]),
        target_test=frames_factory("synth-M", "test", seed=20),
        data_fingerprint="test",
    )


def _refused(frames_factory, checkpoint: Path) -> str:
    """The error resuming from ``checkpoint`` gives, checked to be one line naming the file and what to do."""
    with pytest.raises(DgfasError, match="cannot resume from this checkpoint") as info:
        train(_run(frames_factory), progress=False, checkpoint=checkpoint)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(checkpoint)) and "delete it to start the run over" in message
    return message


def _vouch(checkpoint: Path) -> None:
    """Write the checksum file an attacker with write access to the runs folder could write as well."""
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    checkpoints.checksum_path(checkpoint).write_text(f"{digest}  {checkpoint.name}\n")


class Payload:
    """Creates ``marker`` when unpickled: what a planted checkpoint could run instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


@pytest.mark.parametrize("with_checksum", [False, True], ids=["alone", "with-its-checksum"])
def test_a_planted_checkpoint_is_refused_and_nothing_in_it_runs(frames_factory, tmp_path, with_checksum):
    checkpoint, marker = tmp_path / "checkpoint.pt", tmp_path / "payload-ran"
    torch.save({"format": CHECKPOINT_FORMAT, "step": 2, "algorithm": Payload(marker)}, checkpoint)
    if with_checksum:
        _vouch(checkpoint)
    message = _refused(frames_factory, checkpoint)
    assert not marker.exists()
    says = "could run code" if with_checksum else "checkpoint.pt.sha256 with its sha256 is missing"
    assert says in message

    torch.load(checkpoint, weights_only=False)  # what resuming did before: the payload is live
    assert marker.exists()


def _interrupted_checkpoint(frames_factory, tmp_path: Path) -> Path:
    """A real checkpoint: a run stopped by its logger at step 4, after the checkpoint of step 2 was saved."""
    def stop_at_step_4(metrics, step):
        if step == 4:
            raise KeyboardInterrupt

    checkpoint = tmp_path / "checkpoint.pt"
    with pytest.raises(KeyboardInterrupt):
        train(_run(frames_factory), stop_at_step_4, progress=False, checkpoint=checkpoint)
    assert checkpoints.load(checkpoint)["step"] == 2
    return checkpoint


def test_a_bit_flip_in_a_checkpoint_is_refused(frames_factory, tmp_path):
    checkpoint = _interrupted_checkpoint(frames_factory, tmp_path)
    data = bytearray(checkpoint.read_bytes())
    data[len(data) // 2] ^= 0x10  # a weight's bit, most likely: torch would load it and resume with other numbers
    checkpoint.write_bytes(data)
    message = _refused(frames_factory, checkpoint)
    assert "its sha256 is not the one in checkpoint.pt.sha256: the file is damaged" in message


def test_a_checkpoint_of_an_older_format_is_refused(frames_factory, tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    # format 3 as dgfas wrote it: numpy generator state and sampler orders, pickled, nothing beside it
    torch.save({"format": 3, "step": 2, "batches": {"numpy_rng": np.random.default_rng(0).bit_generator.state,
                                                    "sampler_orders": {"O": [np.arange(4), np.arange(3)]}},
                "target_scores": {2: np.zeros(6)}}, checkpoint)
    assert "written by an older dgfas, or not by dgfas" in _refused(frames_factory, checkpoint)
    _vouch(checkpoint)  # with a checksum file, its numpy arrays are what torch's weights-only loader refuses
    assert "holds something other than tensors and plain values" in _refused(frames_factory, checkpoint)

    checkpoints.save(checkpoint, {"format": CHECKPOINT_FORMAT - 1, "step": 2})  # safe to load, but another layout
    message = _refused(frames_factory, checkpoint)
    assert f"format {CHECKPOINT_FORMAT - 1}, this one reads {CHECKPOINT_FORMAT}" in message


def test_a_checkpoint_whose_checksum_file_vouches_for_another_is_refused(tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    checkpoints.save(checkpoint, {"step": 2})
    stale = checkpoints.checksum_path(checkpoint).read_text()
    checkpoints.save(checkpoint, {"step": 4})
    checkpoints.checksum_path(checkpoint).write_text(stale)
    with pytest.raises(DgfasError, match="the file is damaged"):
        checkpoints.load(checkpoint)
    checkpoints.checksum_path(checkpoint).write_text("not a digest\n")
    with pytest.raises(DgfasError, match=r"checkpoint.pt.sha256 is not a sha256sum file"):
        checkpoints.load(checkpoint)


def test_a_kill_between_the_two_writes_leaves_a_checkpoint_that_resumes(tmp_path, monkeypatch):
    """The checksum file is written first and vouches for the checkpoint it replaces until that one is gone."""
    checkpoint = tmp_path / "checkpoint.pt"
    checkpoints.save(checkpoint, {"step": 2})
    assert checkpoints.checksum_path(checkpoint).read_text().count("\n") == 1

    def killed(path, write):
        raise KeyboardInterrupt  # the process ends after the checksum file, before the checkpoint is replaced

    with monkeypatch.context() as patched:
        patched.setattr(checkpoints, "atomic_write", killed)
        with pytest.raises(KeyboardInterrupt):
            checkpoints.save(checkpoint, {"step": 4})
    assert checkpoints.checksum_path(checkpoint).read_text().count("\n") == 2  # the new digest and the old
    assert checkpoints.load(checkpoint) == {"step": 2}

    checkpoints.save(checkpoint, {"step": 4})
    assert checkpoints.load(checkpoint) == {"step": 4}
    assert checkpoints.checksum_path(checkpoint).read_text().count("\n") == 1
    checkpoints.remove(checkpoint)
    assert list(tmp_path.iterdir()) == []
