"""The benchmark scripts run and print their figures (timings themselves are not asserted)."""

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
        ("prepare.py", ["--layout", "replay", "--videos", "4", "--frames", "6", "--width", "160", "--height", "120",
                        "--frames-per-video", "2", "--size", "32", "--workers", "1"],
         ["4 videos of 6 frames at 160x120", "one video, one process: decode", "1 worker(s):"]),
    ],
)
def test_data_benchmark_prints_its_figures(script, args, expected):
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    for text in expected:
        assert text in done.stdout
