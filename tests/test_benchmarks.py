"""The benchmark scripts run and print their figures (timings themselves are not asserted)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dgfas.data.frames import RowView
from dgfas.data.registry import DataOptions
from dgfas.errors import DgfasError
from dgfas.run import RunSpec, resolve

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


def _benchmark_module(name):
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fake_cache_is_a_data_source_of_memory_mapped_frames(tmp_path, monkeypatch):
    fake_cache = _benchmark_module("fake_cache")
    name = fake_cache.write_fake_source(tmp_path, 0.01, 32)
    assert fake_cache.write_fake_source(tmp_path, 0.01, 32) == name  # written and registered once
    on_disk = sum(path.stat().st_size for path in tmp_path.rglob("*") if path.is_file())
    assert 0.008 * 2**30 < on_disk < 0.012 * 2**30
    monkeypatch.setattr(RowView, "_read", lambda *args: pytest.fail("resolve read pixels"))
    run = resolve(RunSpec(protocol="OCI-M", method="erm", preset="tiny", data_source=name),
                  DataOptions(cache_dir=tmp_path, progress=False))
    monkeypatch.undo()
    assert run.source_val.domain == f"{name}-O+{name}-C+{name}-I"
    for frames, split in [*((f, "train") for f in run.source_train.values()), (run.source_val, "dev"),
                          (run.target_test, "test")]:
        assert set(frames.split) == {split} and set(frames.label) == {0, 1}
        assert {"none", "print", "replay"} == set(frames.attack_type)
        assert isinstance(frames.images, RowView) and all(isinstance(base, np.memmap) for base in frames.images.sources)
        assert frames.depth is frames.parsing is frames.reflection is None  # erm reads no maps, so none are kept
        assert frames.images[np.array([3, 0])].shape == (2, 32, 32, 3)
    with pytest.raises(DgfasError, match="holds 32 px frames, the run asks for 64 px"):
        resolve(RunSpec(protocol="OCI-M", method="erm", preset="fast", data_source=name),
                DataOptions(cache_dir=tmp_path, progress=False))


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
