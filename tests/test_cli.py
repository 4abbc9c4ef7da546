"""The real commands, driven in-process through ``main(argv)``."""

import json
from pathlib import Path

import pytest

from dgfas.cli import main

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
