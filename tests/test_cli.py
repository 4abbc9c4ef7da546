"""The real commands, driven in-process through ``main(argv)``."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dgfas.cli import build_parser, main
from dgfas.cli.options import progress
from dgfas.verbosity import VERBOSE_ENV, native_info_held_back, verbose

SCORES = """video_id,frame,label,score,attack_type
v1,0,1,0.9,none
v1,1,1,0.7,none
v2,0,1,0.4,none
v3,0,0,0.2,print
v4,0,0,0.6,replay
v5,0,0,0.1,print
"""


def test_metrics_json_names_its_threshold_rule(tmp_path, capsys):
    path = tmp_path / "scores.csv"
    path.write_text(SCORES)
    assert main(["metrics", str(path), "--json", "--threshold", "0.5"]) == 0
    result = json.loads(capsys.readouterr().out)
    # video level: v1 0.8 live, v2 0.4 live (rejected), v3 0.2, v4 0.6 (accepted), v5 0.1
    assert result["threshold_rule"] == "fixed"
    assert result["frr"] == pytest.approx(0.5) and result["far"] == pytest.approx(1 / 3)
    assert result["apcer"] == pytest.approx(1.0)  # the one replay video is accepted
    assert main(["metrics", str(path), "--level", "frame"]) == 0
    assert "oracle" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--protocol", "OCI-X", "--method", "erm"], "unknown protocol 'OCI-X'; valid: ["),
        (["train", "--protocol", "OCI-M", "--method", "ermm"], "unknown algorithm 'ermm'; valid: ['auxiliary', 'basn', 'erm'"),
        (["train", "--protocol", "OCI-M", "--method", "erm", "--preset", "huge"], "unknown preset 'huge'"),
        (["benchmark", "--data", "nowhere"], "unknown data source 'nowhere'"),
        (["train", "--protocol", "OCI-M", "--method", "erm", "--set", "algorithm.lrr=1"], "unknown ErmConfig key(s) ['lrr']"),
        (["train", "--protocol", "OCI-M", "--method", "erm", "--set", "lr=1"], "must start with one of"),
        (["metrics", "/nonexistent/scores.csv"], "/nonexistent/scores.csv"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    assert main([*argv, *(["--cache", str(tmp_path)] if argv[0] in ("train", "benchmark") else [])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dgfas: error: ") and message in err and err.count("\n") == 1


def test_list_names_every_registry(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for expected in ("protocols: C-I, I-C, ICM-O, ICMS-O", "OCIM-S", "synth-siw",
                     "algorithms: auxiliary, basn, erm, multitask_meta, pyramid",
                     "inner-step engines: higher, learn2learn, torch_func", "models: cdcn, resnet18, vgg16", "synth-oulu",
                     "corpus adapters: casia, msu, oulu, replay, siw",
                     "selection rules:"):
        assert expected in out


def test_data_generate_and_audit_run_on_the_tiny_scale(tmp_path, capsys):
    cache = ["--preset", "tiny", "--cache", str(tmp_path), "--no-progress"]
    assert main(["data", "generate", *cache]) == 0
    out = capsys.readouterr().out
    for name in ("synth-oulu", "synth-casia", "synth-replay", "synth-msu", "synth-siw"):
        assert f"{name}: {tmp_path}" in out
    for line in out.splitlines():
        assert (Path(line.split(": ", 1)[1]) / "manifest.json").exists()
    assert main(["data", "audit", *cache]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["auc"]) == {"synth-oulu", "synth-casia", "synth-replay", "synth-msu", "synth-siw"}
    assert main(["data", "generate", "--scale", "huge", *cache]) == 2
    assert "unknown synthetic scale 'huge'" in capsys.readouterr().err


# Runs dgfas's command line in a fresh interpreter and prints the heavy libraries it imported.
_IMPORTED_AFTER = """
import sys
from dgfas.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as done:  # --help
    code = done.code
print(code, sorted(name for name in ("torch", "mlflow", "sklearn", "dgfas.benchmark") if name in sys.modules))
"""


@pytest.mark.parametrize("argv", [["--help"], ["benchmark", "--help"], ["list"], ["data", "index", "casia", "{tree}"]],
                         ids=["help", "benchmark-help", "list", "data-index"])
def test_help_list_and_indexing_load_neither_torch_nor_mlflow(argv, tmp_path):
    for folder in ("train_release", "test_release"):  # a two-subject CASIA-FASD tree of empty files
        for stem in [*map(str, range(1, 9)), "HR_1", "HR_2", "HR_3", "HR_4"]:
            path = tmp_path / "casia" / folder / "1" / f"{stem}.avi"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    argv = [arg.format(tree=tmp_path / "casia") for arg in argv]
    done = subprocess.run([sys.executable, "-c", _IMPORTED_AFTER, *argv], capture_output=True, text=True, timeout=300,
                          check=False, cwd=tmp_path)
    assert done.stdout.splitlines()[-1] == "0 []", done.stderr


def test_version_prints_the_code_hash_each_methods_runs_record(capsys):
    import dgfas
    from dgfas.algorithms import ALGORITHMS
    from dgfas.code_identity import code_hash, submission_code_hash

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"dgfas {dgfas.__version__}"
    for method in ALGORITHMS.names():
        model = getattr(ALGORITHMS.get(method).Config(), "model", None)
        named = [method, f"({model})"] if model else [method]
        assert [*named, code_hash(method, model)] in [line.split() for line in lines], method
    assert lines[-1].endswith(f"  {submission_code_hash()}")


def test_leaderboard_dir_is_one_option_and_out_its_deprecated_alias(tmp_path, capsys):
    for command in (["benchmark"], ["sweep"], ["leaderboard"]):
        assert build_parser().parse_args([*command, "--leaderboard-dir", str(tmp_path)]).leaderboard_dir == tmp_path
    assert capsys.readouterr().err == ""
    assert build_parser().parse_args(["leaderboard"]).leaderboard_dir == Path("leaderboards")
    assert build_parser().parse_args(["leaderboard", "--out", str(tmp_path)]).leaderboard_dir == tmp_path
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out is deprecated" in err and "use --leaderboard-dir" in err


@pytest.mark.parametrize(("flag", "terminal", "bars"), [
    ([], True, True), ([], False, False), (["--progress"], False, True), (["--no-progress"], True, False),
])
def test_progress_bars_follow_the_flag_else_whether_stderr_is_a_terminal(flag, terminal, bars, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    for command in (["benchmark"], ["train", "--protocol", "C-I", "--method", "erm"], ["data", "generate"]):
        args = build_parser().parse_args([*command, *flag])
        assert progress(args) is bars


def test_native_info_lines_are_held_back_unless_verbose(monkeypatch, capfd):
    monkeypatch.delenv(VERBOSE_ENV, raising=False)
    with native_info_held_back():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\nERROR: a real problem\n")
    assert capfd.readouterr().err == "ERROR: a real problem\n"
    with verbose(True):
        assert os.environ[VERBOSE_ENV] == "1"
        with native_info_held_back():
            os.write(2, b"INFO: shown\n")
    assert VERBOSE_ENV not in os.environ
    assert capfd.readouterr().err == "INFO: shown\n"


@pytest.mark.parametrize(("environment", "shown"), [({}, False), ({VERBOSE_ENV: "1"}, True)])
def test_tensorflow_lite_announces_its_delegate_only_when_verbose(environment, shown):
    code = "from dgfas.data.corpora.facemesh import FaceMesh; FaceMesh()"
    env = {key: value for key, value in os.environ.items() if key != VERBOSE_ENV}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True,
                          env={**env, **environment})
    assert ("XNNPACK delegate" in done.stderr) is shown, done.stderr
