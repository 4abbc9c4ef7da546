"""A run's code hash covers the code that trains and scores it, and nothing else.

The guard: every dgfas file that executes while a method trains is in that
method's hashed list. Then edits in a scratch copy of the package: a method's
module changes that method's hash and run key alone, leaderboard code changes
none, and ``dgfas benchmark`` retrains exactly the edited method.
"""

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from dgfas.algorithms import ALGORITHMS, get_algorithm
from dgfas.code_identity import PACKAGE_DIR, SHARED_FILES, code_hash, hash_files, method_files
from dgfas.data.registry import DataOptions
from dgfas.devices import device_name
from dgfas.run import RunSpec, resolve
from dgfas.trainer import train

REPO = PACKAGE_DIR.parent
METHODS = ALGORITHMS.names()


def _model(method: str) -> str | None:
    return getattr(get_algorithm(method).Config(), "model", None)


def _executed_dgfas_files(run) -> set[str]:
    """Package-relative files of the dgfas functions called while ``run`` trains, in any thread."""
    called: set[str] = set()

    def profile(frame, event, arg):
        if event == "call":
            called.add(frame.f_code.co_filename)

    threading.setprofile(profile)  # the trainer's batch and scoring threads start inside train
    sys.setprofile(profile)
    try:
        train(run, progress=False)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    paths = {Path(name).resolve() for name in called if name.endswith(".py")}
    return {str(path.relative_to(PACKAGE_DIR)) for path in paths if path.is_relative_to(PACKAGE_DIR)}


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_every_dgfas_file_that_runs_while_a_method_trains_is_in_its_hash(method, tiny_cache):
    run = resolve(RunSpec(protocol="OCI-M", method=method, preset="tiny"),
                  DataOptions(cache_dir=tiny_cache, progress=False))
    assert run.run_key  # computed before training, as the benchmark does to find a finished run
    executed = _executed_dgfas_files(run)
    hashed = set(method_files(method, _model(method)))
    assert f"algorithms/{method}.py" in executed and "trainer.py" in executed, "the profiler missed the run"
    assert executed <= hashed, f"{method} ran files its code hash leaves out: {sorted(executed - hashed)}"


def test_a_method_hashes_its_own_module_and_backbone_and_no_other_method():
    files = {method: set(method_files(method, _model(method))) for method in METHODS}
    assert {"algorithms/inner_step.py", "algorithms/triplet.py", "models/resnet.py", "models/weights.py"} \
        <= files["multitask_meta"]
    assert "models/vgg.py" in files["basn"] and "models/resnet.py" not in files["basn"]
    for method, hashed in files.items():
        other_methods = {f"algorithms/{other}.py" for other in METHODS if other != method}
        assert f"algorithms/{method}.py" in hashed and not hashed & other_methods
        assert set(SHARED_FILES) <= hashed
        assert not {name for name in hashed if name.startswith(("tracking/", "data/synthetic/", "cli/"))}
        assert not hashed & {"benchmark.py", "sweep.py", "launchers.py", "data/corpora/prepare.py"}


@pytest.fixture
def scratch(tmp_path) -> Path:
    """A copy of the checkout's package, protocols, methods doc and reported numbers: a second checkout elsewhere."""
    shutil.copytree(PACKAGE_DIR, tmp_path / "dgfas", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "protocols", tmp_path / "protocols")
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    (tmp_path / "leaderboards").mkdir()
    for reported in (REPO / "leaderboards").glob("reported*.csv"):
        shutil.copy(reported, tmp_path / "leaderboards")
    return tmp_path


def _hashes(package: Path) -> dict[str, str]:
    return {method: hash_files(method_files(method, _model(method), root=package)) for method in METHODS}


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_an_edit_changes_the_hashes_of_the_methods_that_use_the_file_and_no_other(scratch):
    package = scratch / "dgfas"
    before = _hashes(package)
    assert before == {method: code_hash(method, _model(method)) for method in METHODS}, "a copy hashes alike"

    _append(package / "algorithms" / "erm.py", "\n# the loss, edited\n")
    after_erm = _hashes(package)
    assert after_erm["erm"] != before["erm"]
    assert {m: h for m, h in after_erm.items() if m != "erm"} == {m: h for m, h in before.items() if m != "erm"}

    _append(package / "algorithms" / "inner_step.py", "\n# edited\n")
    after_inner = _hashes(package)
    assert {m for m in METHODS if after_inner[m] != after_erm[m]} == {"multitask_meta"}

    _append(package / "models" / "vgg.py", "\n# edited\n")
    after_vgg = _hashes(package)
    assert {m for m in METHODS if after_vgg[m] != after_inner[m]} == {"basn"}

    for untracked in ("tracking/leaderboard.py", "cli/__init__.py", "benchmark.py", "data/synthetic/render.py"):
        _append(package / untracked, "\n# edited\n")
    assert _hashes(package) == after_vgg

    _append(package / "metrics.py", "\n# edited\n")
    after_metrics = _hashes(package)
    assert all(after_metrics[m] != after_vgg[m] for m in METHODS)


def test_a_plugin_methods_module_is_hashed_by_its_module_name(tmp_path, monkeypatch):
    monkeypatch.setattr(ALGORITHMS, "_entries", dict(ALGORITHMS._entries))
    module = tmp_path / "dgfas_hash_plugin.py"
    module.write_text("from dgfas.algorithms import register_algorithm\nfrom dgfas.algorithms.erm import Erm\n\n\n"
                      "@register_algorithm('hash_toy')\nclass HashToy(Erm):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "dgfas_hash_plugin", raising=False)
    __import__("dgfas_hash_plugin")
    try:
        files = method_files("hash_toy", "resnet18")
        assert files["dgfas_hash_plugin.py"] == module and "algorithms/erm.py" in files
        before = hash_files(files)
        _append(module, "# edited\n")
        assert hash_files(method_files("hash_toy", "resnet18")) != before
    finally:
        sys.modules.pop("dgfas_hash_plugin", None)


def test_environment_tags_name_torch_the_processor_and_a_commit_only_when_there_is_one(monkeypatch):
    from dgfas import benchmark
    from dgfas.tracking.record import source_tags

    tags = source_tags(benchmark.git_commit(), benchmark.machine(torch.device("cpu")))
    assert tags["dgfas.torch_version"] == torch.__version__
    assert tags["dgfas.torch_threads"] == str(torch.get_num_threads())
    assert tags["dgfas.device_name"] == device_name(torch.device("cpu")) and "\n" not in tags["dgfas.device_name"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    if head.returncode == 0:  # a git checkout: the commit, "+dirty" when it has uncommitted changes
        assert tags["dgfas.git_commit"].removesuffix("+dirty") == head.stdout.strip()
    else:
        assert "dgfas.git_commit" not in tags
    monkeypatch.setattr(benchmark, "git_commit", lambda: None)
    assert "dgfas.git_commit" not in source_tags(benchmark.git_commit(), benchmark.machine(torch.device("cpu")))


@pytest.mark.slow
def test_benchmark_in_a_scratch_checkout_retrains_only_the_edited_method(scratch, tiny_cache, monkeypatch):
    """The real command, run twice in a fresh process on a copy of the package, a method's module edited between."""
    from dgfas.tracking.stored_runs import load_run_records

    uri = f"sqlite:///{scratch / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(scratch)}

    def benchmark() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "dgfas.cli", "benchmark", "--methods", "erm,pyramid", "--protocols", "C-I",
             "--preset", "tiny", "--no-progress", "--cache", str(tiny_cache), "--runs-dir", str(scratch / "runs"),
             "--leaderboard-dir", str(scratch / "boards")],
            cwd=scratch, env=env, capture_output=True, text=True, timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stderr

    first = benchmark()
    assert "erm on C-I seed 0: HTER" in first and "pyramid on C-I seed 0: HTER" in first
    _append(scratch / "dgfas" / "algorithms" / "erm.py", "\n# the loss, edited\n")
    second = benchmark()
    assert "[1/2] erm on C-I seed 0: HTER" in second
    assert "[2/2] pyramid on C-I seed 0: already finished, skipped" in second

    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    records = load_run_records("synthetic-tiny").sort_values("start_time")
    erm = records[records["method"] == "erm"]
    assert len(erm) == 2 and erm["code_hash"].nunique() == 2 and erm["run_key"].nunique() == 2
    assert erm["code_hash"].iloc[-1] == hash_files(method_files("erm", "resnet18", root=scratch / "dgfas"))
    assert (records["torch_version"] == torch.__version__).all()
    assert records["torch_threads"].astype(int).ge(1).all()
    assert (records["device_name"] == device_name(torch.device("cpu"))).all()
    board = (scratch / "boards" / "synthetic-tiny.md").read_text(encoding="utf-8")
    assert "- Not counted: 1 run(s) of older code" in board and f"torch {torch.__version__} on " in board
