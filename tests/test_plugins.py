"""Method plugins: outside packages whose ``dgfas.methods`` entry points register algorithms."""

import os
import subprocess
import sys
import textwrap

import pytest

from dgfas import plugins
from dgfas.algorithms import ALGORITHMS
from dgfas.cli import main

TOY_METHOD = '''
from dgfas.algorithms import register_algorithm
from dgfas.algorithms.erm import Erm


@register_algorithm("toy_erm")
class ToyErm(Erm):
    """ERM under another name: the smallest outside method."""
'''


def write_plugin(root, module, source, distribution="dgfas_toy_plugin"):
    """An installed-looking distribution in ``root``: a module and a dist-info folder declaring its entry point."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{distribution}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[dgfas.methods]\ntoy = {module}\n")
    return root


@pytest.fixture
def install(tmp_path, monkeypatch):
    """Put a plugin on ``sys.path`` for this test only; the registry and loaded plugins are restored after."""
    monkeypatch.setattr(ALGORITHMS, "_entries", dict(ALGORITHMS._entries))
    monkeypatch.setattr(plugins, "_loaded", set())
    modules = set(sys.modules)

    def add(module, source, distribution="dgfas_toy_plugin"):
        monkeypatch.syspath_prepend(str(write_plugin(tmp_path, module, source, distribution)))

    yield add
    for name in set(sys.modules) - modules:
        if name.startswith("dgfas_"):
            del sys.modules[name]


def test_dgfas_list_shows_a_plugin_method_beside_the_built_in_ones(install, capsys):
    install("dgfas_toy_plugin", TOY_METHOD)
    assert main(["list"]) == 0
    methods = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("algorithms: "))
    assert {"erm", "toy_erm"} <= set(methods.removeprefix("algorithms: ").split(", "))


@pytest.mark.parametrize(
    "source, reason",
    [
        ("import dgfas_no_such_module\n", "cannot be imported (ModuleNotFoundError: No module named 'dgfas_no_such_module')"),
        (TOY_METHOD.replace('"toy_erm"', '"erm"'), "algorithm 'erm' is already registered"),
    ],
    ids=["import-fails", "name-taken"],
)
def test_a_broken_plugin_is_a_one_line_error_naming_entry_point_and_distribution(install, capsys, source, reason):
    install("dgfas_bad_plugin", source, distribution="dgfas_bad_plugin")
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dgfas: error: method plugin 'toy' (dgfas_bad_plugin)")
    assert "distribution dgfas_bad_plugin 0.1" in err and reason in err


@pytest.mark.slow
def test_a_plugin_method_trains_in_the_benchmark_and_reaches_the_leaderboard(tmp_path, tiny_cache, monkeypatch):
    """The real command in a fresh process, the plugin found through PYTHONPATH alone."""
    from dgfas.tracking.stored_runs import load_run_records

    plugin_dir = tmp_path / "site"
    plugin_dir.mkdir()
    write_plugin(plugin_dir, "dgfas_toy_plugin", TOY_METHOD)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(plugin_dir), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-m", "dgfas.cli", "benchmark", "--methods", "toy_erm", "--protocols", "C-I", "--preset", "tiny",
         "--no-progress", "--cache", str(tiny_cache), "--runs-dir", str(tmp_path / "runs"),
         "--leaderboard-dir", str(tmp_path / "boards")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "[1/1] toy_erm on C-I seed 0: HTER" in done.stderr

    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    records = load_run_records("synthetic-tiny")
    assert records[["method", "protocol"]].values.tolist() == [["toy_erm", "C-I"]]
    assert records["target_test.video.auc"].between(0, 1).all()
    assert "| toy_erm |" in (tmp_path / "boards" / "synthetic-tiny.md").read_text()
