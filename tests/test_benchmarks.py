"""The benchmark scripts run and print their figures (timings themselves are not asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.parametrize(
    ("script", "extra", "expected"),
    [
        ("train_step.py", [], ["erm step, channels-last:", "speed-up of channels-last:"]),
        ("meta_step.py", [], ["meta, learn2learn", "higher / torch_func:", "meta (torch_func) / erm:"]),
        ("method_step.py", ["--variant", "pyramid:model=cdcn"],
         ["auxiliary", "basn", "multitask_meta", "pyramid[model=cdcn]", "x erm"]),
    ],
)
def test_benchmark_script_prints_its_figures(script, extra, expected):
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--preset", "tiny", "--steps", "1", *extra],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    for text in expected:
        assert text in done.stdout


@pytest.mark.parametrize(
    ("script", "args", "expected"),
    [
        ("loader.py", ["--size", "32", "--frames", "64", "--batch", "8", "--steps", "2", "--workers", "1"],
         ["frame cache", "JPEG crops decoded per step", "cache / JPEG:"]),
        ("face_labels.py", ["--subjects", "1", "--size", "64"], ["synth-oulu", "synth-msu", "astronaut (", "ms per 64 px crop"]),
    ],
)
def test_data_benchmark_prints_its_figures(script, args, expected):
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    for text in expected:
        assert text in done.stdout


def test_train_throughput_prints_one_json_line_per_method_with_positive_figures(tiny_cache):
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "train_throughput.py"), "--preset", "tiny", "--methods", "erm,auxiliary",
         "--device", "cpu", "--steps", "2", "--warm-up", "1", "--json", "--cache", str(tiny_cache)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["method"] for line in lines] == ["erm", "auxiliary"]
    for line in lines:
        assert list(line) == ["method", "device", "precision", "preset", "data_ms", "update_ms", "step_ms",
                              "data_fraction", "images_per_s", "eval_images_per_s", "peak_device_gib", "rss_anon_gib",
                              "cache_gib"]
        assert (line["device"], line["precision"], line["preset"]) == ("cpu", "fp32", "tiny")
        for key in ("data_ms", "update_ms", "step_ms", "images_per_s", "eval_images_per_s", "rss_anon_gib", "cache_gib"):
            assert line[key] > 0, key
        assert 0 < line["data_fraction"] < 1 and line["peak_device_gib"] == 0
