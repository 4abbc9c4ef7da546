"""Bad values are refused when a job's settings are resolved: one line, exit 2, no data built, no MLflow run.

Each case of issue 17 (``trainer.steps=-5``, ``trainer.eval_every=0``,
``trainer.batch_per_domain=1``, ``trainer.device=cuda`` without a GPU,
``algorithm.lr=nan``, ``--seeds 0,1a``) and a few more are driven through
``main(argv)`` against a fresh SQLite store; each asserts the exact error
line and that neither the frame cache nor a run came to exist. Protocol
files' fields and the command's numeric flags are checked the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dgfas.cli import main
from dgfas.devices import pick_device
from dgfas.errors import DgfasError

REPO = Path(__file__).resolve().parents[1]
SUITE = "synthetic-tiny"


def _runs(store: Path) -> list:
    """Every run of the tiny suite in ``store``; none where the store or the suite was never created."""
    if not store.exists():
        return []
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    experiment = client.get_experiment_by_name(SUITE)
    return [] if experiment is None else client.search_runs([experiment.experiment_id])


@pytest.fixture
def no_accelerator(monkeypatch):
    """A machine without CUDA or MPS, whatever this one has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def _refused(tmp_path: Path, monkeypatch, capsys, argv: list[str]) -> str:
    """Run ``argv`` against a store in ``tmp_path``; assert exit 2 and that nothing was built or logged; the error line."""
    store = tmp_path / "m.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}")
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--preset", "tiny", "--no-progress", "--cache", str(tmp_path / "cache"),
                 "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dgfas: error: "), err
    assert not (tmp_path / "cache").exists(), "data was built before the settings were checked"
    assert not (tmp_path / "runs").exists()
    assert _runs(store) == []
    return err.removeprefix("dgfas: error: ").rstrip("\n")


BENCHMARK = ["benchmark", "--protocols", "C-I", "--methods", "erm"]


@pytest.mark.parametrize(
    "setting, message",
    [
        # the issue's list
        ("trainer.steps=-5", "trainer.steps must be an integer >= 1, got -5"),
        ("trainer.eval_every=0", "trainer.eval_every must be an integer >= 1, got 0"),
        ("trainer.batch_per_domain=1", "trainer.batch_per_domain must be an integer >= 2 (a balanced batch needs a "
                                       "live and a spoof image, and batch norm more than one value per channel), got 1"),
        ("trainer.device=cuda", "trainer.device must be one of ['auto', 'cpu'] on this machine, got 'cuda'"),
        ("algorithm.lr=nan", "algorithm.lr must be a finite number > 0, got nan"),
        # and more
        ("algorithm.lr=inf", "algorithm.lr must be a finite number > 0, got inf"),
        ("algorithm.lr=0", "algorithm.lr must be a finite number > 0, got 0.0"),
        ("algorithm.weight_decay=-1e-4", "algorithm.weight_decay must be a finite number >= 0, got -0.0001"),
        ("algorithm.model=resnet50", "algorithm.model must be one of ['cdcn', 'resnet18', 'vgg16'], got 'resnet50'"),
        ("model.width=0", "model.width must be a finite number > 0, got 0.0"),
        ("model.weights=missing.pt", "model.weights='missing.pt': weights file not found (valid: none, imagenet or "
                                     "the path of a state dict)"),
        ("trainer.precision=fp16", "trainer.precision must be one of ['auto', 'fp32', 'bf16'], got 'fp16'"),
        ("trainer.steps=1.5", "trainer.steps must be an integer >= 1, got '1.5'"),
        ("trainer.device=gpu", "trainer.device must be one of ['auto', 'cpu'] on this machine, got 'gpu'"),
        ("trainer.device_cache_share=2", "trainer.device_cache_share must be a finite number in [0, 1], got 2.0"),
        ("trainer.selection_rule=best", "trainer.selection_rule must be one of ['last', 'oracle', 'source_val'], got 'best'"),
        ("trainer.augment=maybe", "trainer.augment must be true or false, got 'maybe'"),
    ],
)
def test_a_bad_setting_is_one_line_before_any_data_or_run(tmp_path, monkeypatch, capsys, no_accelerator, setting, message):
    assert _refused(tmp_path, monkeypatch, capsys, [*BENCHMARK, "--set", setting]) == message


@pytest.mark.parametrize(
    "methods, settings, message",
    [
        ("multitask_meta", ["algorithm.depth_weight=-1"], "algorithm.depth_weight must be a finite number >= 0, got -1.0"),
        ("multitask_meta", ["algorithm.triplet_mining=semi"], "algorithm.triplet_mining must be one of ['hard', 'all'], "
                                                              "got 'semi'"),
        ("multitask_meta", ["algorithm.engine=jax"], "algorithm.engine must be one of ['higher', 'learn2learn', "
                                                     "'torch_func'], got 'jax'"),
        ("auxiliary", ["algorithm.clip_length=1"], "algorithm.clip_length must be an integer >= 2 (an rPPG spectrum "
                                                   "needs two frames or more), got 1"),
        ("basn", ["algorithm.auxiliary=both"], "algorithm.auxiliary must be one of ['none', 'depth', 'reflection', "
                                               "'added', 'subtracted'], got 'both'"),
        ("pyramid", ["algorithm.levels=0"], "algorithm.levels must be an integer >= 1, got 0"),
        ("pyramid", ["algorithm.model=cdcn", "model.theta=1.5"], "model.theta must be a finite number in [0, 1], got 1.5"),
    ],
)
def test_each_methods_settings_are_checked(tmp_path, monkeypatch, capsys, methods, settings, message):
    argv = ["benchmark", "--protocols", "OCI-M", "--methods", methods]
    for setting in settings:
        argv += ["--set", setting]
    assert _refused(tmp_path, monkeypatch, capsys, argv) == message


def test_a_bad_seed_and_every_command_that_trains_refuse_before_any_run(tmp_path, monkeypatch, capsys):
    assert _refused(tmp_path, monkeypatch, capsys, [*BENCHMARK, "--seeds", "0,1a"]) == (
        "--seeds: '1a' is not an integer 0 or more (give comma-separated seeds, e.g. 0,1,2)")
    assert _refused(tmp_path, monkeypatch, capsys, ["train", "--protocol", "C-I", "--method", "erm", "--set",
                                                    "trainer.steps=-5"]) == "trainer.steps must be an integer >= 1, got -5"
    assert _refused(tmp_path, monkeypatch, capsys, ["sweep", "--protocols", "C-I", "--methods", "erm", "--draws", "2",
                                                    "--set", "trainer.eval_every=0"]) == (
        "trainer.eval_every must be an integer >= 1, got 0")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--protocol", "C-I", "--method", "erm", "--seed", "-1"], "argument --seed: must be an integer >= 0, got '-1'"),
        (["train", "--protocol", "C-I", "--method", "erm", "--seed", "1a"], "argument --seed: must be an integer >= 0, got '1a'"),
        ([*BENCHMARK, "--workers", "0"], "argument --workers: must be an integer >= 1, got '0'"),
        ([*BENCHMARK, "--frames-per-video", "-2"], "argument --frames-per-video: must be an integer >= 0, got '-2'"),
        (["sweep", "--jobs", "0"], "argument --jobs: must be an integer >= 1, got '0'"),
        (["sweep", "--draws", "-1"], "argument --draws: must be an integer >= 0, got '-1'"),
        (["sweep", "--timeout-min", "0"], "argument --timeout-min: must be an integer >= 1, got '0'"),
        (["metrics", "scores.csv", "--threshold", "nan"], "argument --threshold: must be a finite number, got 'nan'"),
        (["train", "--method", "erm"], "the following arguments are required: --protocol"),
    ],
)
def test_a_bad_flag_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    assert capsys.readouterr().err == f"dgfas: error: {message}\n"
    assert list(tmp_path.iterdir()) == []


def test_cuda_without_a_gpu_is_refused_and_cuda_n_must_exist(monkeypatch, no_accelerator):
    with pytest.raises(DgfasError, match=r"^trainer\.device must be one of \['auto', 'cpu'\] on this machine, got 'cuda:0'$"):
        pick_device("cuda:0")
    assert pick_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert pick_device("cuda:1") == torch.device("cuda:1") and pick_device("auto") == torch.device("cuda")
    with pytest.raises(DgfasError, match=r"one of \['auto', 'cpu', 'cuda', 'cuda:0', 'cuda:1'\] on this machine, got 'cuda:2'$"):
        pick_device("cuda:2")


GOOD_PROTOCOL = """name = "mine"
sources = ["O", "C"]
target = "M"
[splits]
source_train = ["train"]
source_val = ["dev"]
target_test = ["test"]
"""


@pytest.mark.parametrize(
    "old, new, says",
    [
        ('name = "mine"', "name = 5", "name must be non-empty text without '@', got 5"),
        ('name = "mine"', 'name = "mine@2"', "name must be non-empty text without '@', got 'mine@2'"),
        ('name = "mine"', 'name = "mine"\ntitle = ["a"]', "title must be non-empty text, got ['a']"),
        ('target = "M"', 'target = ["M"]', "target: unknown domain ['M']; valid: ['C', 'I', 'M', 'O', 'S']"),
        ('sources = ["O", "C"]', 'sources = [["O"], "C"]', "sources: unknown domain ['O']; valid: ['C', 'I', 'M', 'O', 'S']"),
        ('source_val = ["dev"]', 'source_val = ["dev", "dev"]', "splits.source_val repeats a split: ['dev', 'dev']"),
        ('target = "M"', 'target = "M"\n[frames]\ntrain = 2.5', "frames.train must be a whole number >= 0, got 2.5"),
    ],
)
def test_a_protocol_files_bad_field_names_the_file_and_field(tmp_path, monkeypatch, capsys, old, new, says):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD_PROTOCOL.replace(old, new))
    argv = ["benchmark", "--protocols", str(path), "--methods", "erm"]
    assert _refused(tmp_path, monkeypatch, capsys, argv) == f"{path}: {says}"


def test_the_issues_command_in_a_fresh_process(tmp_path):
    """``dgfas benchmark ... --set trainer.steps=-5`` as typed in a shell: status 2, one line, no cache, no store."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'm.db'}", "PYTHONPATH": str(REPO),
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "dgfas.cli", "benchmark", "--preset", "tiny", "--protocols", "C-I", "--methods", "erm",
         "--set", "trainer.steps=-5", "--cache", str(tmp_path / "cache")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600,  # seconds, or minutes on a machine busy training
    )
    assert (done.returncode, done.stderr) == (2, "dgfas: error: trainer.steps must be an integer >= 1, got -5\n")
    assert not (tmp_path / "cache").exists() and _runs(tmp_path / "m.db") == []
