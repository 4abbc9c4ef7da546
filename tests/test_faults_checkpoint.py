"""Faults a checkpoint meets: planted, damaged, of an older format, cut mid-write; a stop signal between evaluations.

A planted or damaged checkpoint must be one error line naming the file and
what to do, with nothing in it executed; a stop signal during training must
keep the steps since the last evaluation, and the resumed run must end with the
metrics of one never stopped. The loading faults run in-process; the signals
go to a ``dgfas benchmark`` subprocess, as in ``tests/test_faults.py``.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from dgfas import checkpoints, interrupts
from dgfas.algorithms import get_algorithm
from dgfas.data.frames import concat_frames
from dgfas.errors import DgfasError
from dgfas.models.resnet import ResNetConfig
from dgfas.protocols import get_protocol
from dgfas.run import ResolvedRun, RunSpec, TrainerConfig
from dgfas.trainer import train
from dgfas.training_state import CHECKPOINT_FORMAT
from fault_runs import final_metrics, job_runs

REPO = Path(__file__).resolve().parents[1]


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


def _signal_in_step_3(step: int, *seconds: float) -> None:
    if step == 3:  # between the evaluations of steps 2 and 4, after step 3's update
        signal.raise_signal(signal.SIGTERM)


@pytest.fixture
def sigterm_handled():
    """SIGTERM handled as the command line handles it, for the duration of a test."""
    previous = signal.signal(signal.SIGTERM, interrupts.handle)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_sigterm_in_training_saves_the_step_it_came_in_and_the_resumed_run_ends_the_same(
        frames_factory, tmp_path, sigterm_handled):
    whole = train(_run(frames_factory), progress=False)
    checkpoint = tmp_path / "checkpoint.pt"
    with pytest.raises(interrupts.Terminated) as info:
        train(_run(frames_factory), progress=False, checkpoint=checkpoint, step_timer=_signal_in_step_3)
    assert info.traceback[-1].name == "stop"  # raised by the trainer at the end of the step, not where it landed
    saved = checkpoints.load(checkpoint)
    assert saved["step"] == 3 and list(saved["evaluations"]) == [2]

    resumed = train(_run(frames_factory), progress=False, checkpoint=checkpoint)
    assert resumed.selected_step == whole.selected_step
    assert resumed.metrics == pytest.approx(whole.metrics, rel=1e-5, abs=1e-6)


def test_sigterm_in_training_without_a_checkpoint_raises_where_it_lands(frames_factory, sigterm_handled):
    with pytest.raises(interrupts.Terminated) as info:
        train(_run(frames_factory), progress=False, step_timer=_signal_in_step_3)
    assert info.traceback[-1].name == "handle"  # nothing to keep, so nothing to wait for


def test_a_second_signal_raises_at_once_and_one_never_checked_for_is_raised_on_leaving():
    with pytest.raises(KeyboardInterrupt) as info, interrupts.deferred():
        interrupts.handle(signal.SIGINT, None)
        assert interrupts.requested()
        interrupts.handle(signal.SIGINT, None)
    assert type(info.value) is KeyboardInterrupt and info.traceback[-1].name == "handle"
    with pytest.raises(interrupts.Terminated), interrupts.deferred():
        interrupts.handle(signal.SIGTERM, None)
    assert not interrupts.requested()


BETWEEN_EVALUATIONS = ["--protocols", "C-I", "--methods", "erm", "--set", "trainer.steps=200",
                       "--set", "trainer.eval_every=100"]
"""A tiny-preset erm run whose one checkpoint before the end is at step 100: a signal after it lands between
evaluations."""

#: Seconds a run may take: a few unloaded, ten minutes on a machine a sweep keeps busy.
TIMEOUT = 1200


def _environment(store: Path) -> dict[str, str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store}", "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    env.pop("DGFAS_CACHE", None)
    return env


def _benchmark(workdir: Path, cache: Path) -> list[str]:
    return [sys.executable, "-m", "dgfas.cli", "benchmark", "--preset", "tiny", "--no-progress", "--cache", str(cache),
            "--runs-dir", str(workdir / "runs"), "--leaderboard-dir", str(workdir / "boards"), *BETWEEN_EVALUATIONS]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, generated_tiny_cache) -> dict[str, float]:
    workdir = tmp_path_factory.mktemp("uninterrupted")
    command = _benchmark(workdir, generated_tiny_cache)
    done = subprocess.run(command, env=_environment(workdir / "mlflow.db"), cwd=workdir,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    (run,) = job_runs(workdir / "mlflow.db")
    return final_metrics(workdir / "mlflow.db", run)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a shell that starts pytest in the background ignores it


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_signal_between_evaluations_keeps_the_steps_since_and_the_rerun_ends_the_same(
        tmp_path, generated_tiny_cache, uninterrupted, how):
    store, command = tmp_path / "mlflow.db", _benchmark(tmp_path, generated_tiny_cache)
    process = subprocess.Popen(command, env=_environment(store), cwd=tmp_path, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_default_sigint)
    deadline = time.monotonic() + TIMEOUT
    while not list((tmp_path / "runs").rglob("checkpoint.pt")):  # step 100's
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, f"no checkpoint within {TIMEOUT} s"
        time.sleep(0.01)
    process.send_signal(how)
    stderr = process.communicate(timeout=TIMEOUT)[1]
    assert process.returncode == 128 + how, stderr
    assert stderr.strip().splitlines()[-1].startswith(f"dgfas: {how.name}: finished runs are kept")
    (checkpoint,) = (tmp_path / "runs").rglob("checkpoint.pt")
    saved = checkpoints.load(checkpoint)
    assert 100 < saved["step"] < 200 and list(saved["evaluations"]) == [100]
    assert [run.info.status for run in job_runs(store)] == ["KILLED"]

    rerun = subprocess.run(command, env=_environment(store), cwd=tmp_path, capture_output=True, text=True,
                           timeout=TIMEOUT)
    assert rerun.returncode == 0, rerun.stderr
    (finished,) = (run for run in job_runs(store) if run.info.status == "FINISHED")
    assert finished.data.metrics["resumed_from_checkpoint"] == 1.0
    resumed = final_metrics(store, finished)
    for name, value in uninterrupted.items():
        if name.startswith(("target_test.", "source_val.", "selection.")):
            assert resumed[name] == pytest.approx(value, rel=1e-5, abs=1e-6), name
    assert list(checkpoint.parent.glob("checkpoint*")) == []  # the finished run leaves no checkpoint or checksum
