"""The synthetic domains: determinism, ground truth, splits, proportions, cache behaviour."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

import dgfas.data.synthetic  # noqa: F401  (registers the datasets)
from dgfas.data.frame_cache import read_manifest
from dgfas.data.frames import FrameSet, RowView
from dgfas.data.registry import DATASETS, DataOptions
from dgfas.data.synthetic import generate
from dgfas.data.synthetic.domains import DOMAINS
from dgfas.errors import DgfasError

NAMES = list(DOMAINS)
#: spoof videos per live video, as in the real datasets (OULU 1:4, CASIA 1:3, Replay 1:5, MSU 1:3); SiW's
#: 8 live and up to 20 spoof videos a subject become one live video and one of each of its 6 instruments
SPOOFS_PER_LIVE = {"synth-oulu": 4, "synth-casia": 3, "synth-replay": 5, "synth-msu": 3, "synth-siw": 6}


def tiny(cache_dir, **changes) -> DataOptions:
    return dataclasses.replace(
        DataOptions(cache_dir=cache_dir, image_size=32, scale="tiny", seed=0, workers=2, progress=False), **changes
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    options = tiny(tmp_path_factory.mktemp("cache"))
    return options, generate.build_synthetic(NAMES, options)


@pytest.fixture(scope="module")
def frames(built) -> dict[str, FrameSet]:
    options, _ = built
    return {name: generate.load_synthetic(name, options=options) for name in NAMES}


def _file_bytes(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_same_bytes_whatever_the_worker_count(built, tmp_path):
    _, paths = built
    again = generate.build_synthetic(NAMES, tiny(tmp_path, workers=1))
    for name in NAMES:
        assert _file_bytes(again[name]) == _file_bytes(paths[name]), name


def test_seed_changes_the_data_and_its_fingerprint(built, tmp_path):
    _, paths = built
    other = generate.build_synthetic(["synth-msu"], tiny(tmp_path, seed=1))
    a = np.load(paths["synth-msu"] / "images.npy")
    b = np.load(other["synth-msu"] / "images.npy")
    assert a.shape == b.shape and not np.array_equal(a, b)
    assert read_manifest(paths["synth-msu"])["fingerprint"] != read_manifest(other["synth-msu"])["fingerprint"]


def test_registered_loaders_return_split_frames_at_image_size(built):
    options, _ = built
    for name in NAMES:
        test = DATASETS.get(name)("test", options=options)
        assert isinstance(test, FrameSet) and test.domain == name
        assert set(test.split) == {"test"}
        assert test.images.shape[1:] == (32, 32, 3) and test.images.dtype == np.uint8
        assert test.depth.shape == (len(test), 32, 32) and test.depth.dtype == np.uint8
        assert test.parsing.shape == (len(test), 32, 32) and test.parsing.dtype == np.uint8
        assert test.reflection.shape == (len(test), 32, 32, 3) and test.reflection.dtype == np.uint8
        # the split's rows are a view of the memory-mapped cache, not a copy
        assert isinstance(test.images, RowView) and all(isinstance(b, np.memmap) for b in test.images.sources)
        assert test.pulse.shape == (len(test),) and test.pulse.dtype == np.float32
    with pytest.raises(DgfasError, match="unknown split 'val'"):
        DATASETS.get("synth-oulu")("val", options=options)


def test_ground_truth_is_consistent_with_labels(frames):
    for name, fs in frames.items():
        spoof, live = fs.label == 0, fs.label == 1
        assert np.all(fs.depth[spoof] == 0), name
        assert np.all(fs.reflection[live] == 0), name
        # rPPG target: zero for every spoof, a beat in [-1, 1] for every live video
        assert np.all(fs.pulse[spoof] == 0), name
        assert np.abs(fs.pulse).max() <= 1.0 + 1e-4  # unit peak, found on a 1024-point grid
        assert all(np.any(fs.pulse[fs.video_id == video]) for video in np.unique(fs.video_id[live])), name
        face_pixels = np.isin(fs.parsing, [1, 2, 3, 4, 5])
        # depth covers the live face: positive wherever the parsing says face
        for i in np.flatnonzero(live):
            assert (fs.depth[i][face_pixels[i]] > 0).mean() > 0.95, (name, i)
        # spoofs show a face too, parsed where it appears in the image
        assert all(face_pixels[i].sum() > 0.05 * face_pixels[i].size for i in np.flatnonzero(spoof)), name
        # uint8 depth is depth * 255: the nearest point of a live face comes close to 1
        assert 0.8 < fs.depth[live].max() / 255 <= 1.0, name
        assert set(np.unique(fs.attack_type[live])) == {"none"}
        assert set(np.unique(fs.attack_type[spoof])) == {"print", "replay"}


def test_some_spoofs_carry_a_reflection_layer(frames):
    glare = [fs.reflection[fs.label == 0].max() / 255 for fs in frames.values()]
    assert max(glare) > 0.02


def test_splits_are_disjoint_by_subject_and_hold_both_classes(frames):
    for name, fs in frames.items():
        subjects = {split: set(fs.subject[fs.split == split]) for split in ("train", "dev", "test")}
        assert all(len(s) >= 2 for s in subjects.values()), name
        assert not (subjects["train"] & subjects["dev"] or subjects["train"] & subjects["test"]
                    or subjects["dev"] & subjects["test"]), name
        for split in ("train", "dev", "test"):
            rows = fs.split == split
            assert len(set(fs.video_id[rows & (fs.label == 1)])) >= 1
            assert len(set(fs.video_id[rows & (fs.label == 0)])) >= 1


def test_video_ids_are_unique_and_prefixed_and_frames_move(frames):
    for name, fs in frames.items():
        assert all(v.startswith(name + "/") for v in fs.video_id)
        for video in np.unique(fs.video_id):
            rows = np.flatnonzero(fs.video_id == video)
            assert len(set(fs.subject[rows])) == 1 and len(set(fs.label[rows])) == 1
            assert list(fs.frame[rows]) == list(range(len(rows)))
            assert not np.array_equal(fs.images[rows[0]], fs.images[rows[1]])


def test_live_to_spoof_proportions_follow_the_real_datasets(frames):
    for name, fs in frames.items():
        live = len(np.unique(fs.video_id[fs.label == 1]))
        spoof = len(np.unique(fs.video_id[fs.label == 0]))
        assert spoof == SPOOFS_PER_LIVE[name] * live, name


def test_domains_look_different(frames):
    means = {name: fs.images.reshape(len(fs), -1, 3).astype(np.float32).mean(axis=(0, 1)) for name, fs in frames.items()}
    sharpness = {name: np.abs(np.diff(fs.images.astype(np.float32), axis=2)).mean() for name, fs in frames.items()}
    # the low-resolution webcam domain is the blurriest
    assert min(sharpness, key=sharpness.get) == "synth-replay"
    assert len({tuple(np.round(m)) for m in means.values()}) == len(NAMES)


def test_resume_rebuilds_only_missing_or_incomplete_domains_and_leaves_no_temp_files(tmp_path):
    options = tiny(tmp_path, workers=1)
    paths = generate.build_synthetic(["synth-casia", "synth-msu", "synth-oulu"], options)
    kept = (paths["synth-casia"] / "manifest.json").stat().st_mtime_ns
    original = {name: _file_bytes(paths[name]) for name in ("synth-msu", "synth-oulu")}
    shutil.rmtree(paths["synth-msu"])
    (paths["synth-oulu"] / "manifest.json").unlink()  # arrays without a manifest: an unfinished write
    generate.build_synthetic(["synth-casia", "synth-msu", "synth-oulu"], options)
    assert (paths["synth-casia"] / "manifest.json").stat().st_mtime_ns == kept
    for name in ("synth-msu", "synth-oulu"):
        assert _file_bytes(paths[name]) == original[name]
    folder = paths["synth-msu"].parent
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "synth-casia", "synth-msu", "synth-oulu"]


def test_interrupted_build_keeps_whole_files_only(tmp_path, monkeypatch):
    options = tiny(tmp_path, workers=1)
    real_shoot = generate.shoot_video
    first_domain_videos = len(generate.plan_videos("synth-oulu", options))
    calls = []

    def shoot_then_fail(video):
        calls.append(video)
        if len(calls) > first_domain_videos + 2:
            raise KeyboardInterrupt
        return real_shoot(video)

    monkeypatch.setattr(generate, "shoot_video", shoot_then_fail)
    with pytest.raises(KeyboardInterrupt):
        generate.build_synthetic(NAMES, options)
    folder = generate.cache_folder(options)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "synth-oulu"]
    calls.clear()
    monkeypatch.setattr(generate, "shoot_video", lambda video: calls.append(video) or real_shoot(video))
    generate.build_synthetic(NAMES, options)
    assert len(calls) == sum(len(generate.plan_videos(name, options)) for name in NAMES[1:])  # oulu is kept
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", *sorted(NAMES)]


def test_cache_folder_names_scale_size_seed_and_version(tmp_path):
    base = generate.cache_folder(tiny(tmp_path))
    assert base.parent == tmp_path and base.name.startswith(f"synthetic-v{generate.GENERATOR_VERSION}-")
    for change in ({"seed": 3}, {"image_size": 48}, {"scale": "quick"}):
        assert generate.cache_folder(tiny(tmp_path, **change)) != base
    assert generate.cache_folder(tiny(tmp_path, workers=1, progress=True)) == base


def test_unwritable_cache_dir_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache should go")
    with pytest.raises(DgfasError, match=r"cannot write synthetic cache .*not-a-dir.*: "):
        generate.build_synthetic(["synth-oulu"], tiny(blocker))


def test_unknown_scale_lists_the_valid_ones(tmp_path):
    with pytest.raises(DgfasError, match=r"unknown synthetic scale 'huge'; valid: \['fast', 'paper', 'quick', 'tiny'\]"):
        generate.build_synthetic(["synth-oulu"], tiny(tmp_path, scale="huge"))


def test_a_loader_builds_its_own_domain_only(tmp_path):
    """A run builds the domains of its protocol: the four-domain protocols never render synth-siw."""
    options = tiny(tmp_path, workers=1)
    DATASETS.get("synth-msu")("test", options=options)
    assert sorted(p.name for p in generate.cache_folder(options).iterdir()) == ["config.json", "synth-msu"]


def test_video_table_names_each_video_s_attack_instrument(built, frames):
    options, _ = built
    for name, fs in frames.items():
        table = generate.video_table(name, options).set_index("video_id")
        assert sorted(table.index) == sorted(set(fs.video_id)), name
        first = np.unique(fs.video_id, return_index=True)[1]
        by_video = table.loc[fs.video_id[first]]
        assert (by_video["attack_type"].to_numpy() == fs.attack_type[first]).all(), name
        assert ((by_video["label"] == "live").to_numpy() == (fs.label[first] == 1)).all(), name
        assert ((by_video["attack_device"] == 0) == (by_video["label"] == "live")).all(), name
    siw = generate.video_table("synth-siw", options)
    spoofs = siw[siw["label"] == "spoof"]
    devices = spoofs.groupby("attack_type")["attack_device"].unique().map(sorted).to_dict()
    assert devices == {"print": [1, 2], "replay": [1, 2, 3, 4]}  # SiW's two printers and four replay devices
    assert spoofs.groupby(["attack_type", "attack_device"])["medium"].nunique().eq(1).all()
    assert spoofs["medium"].nunique() == 6
    # SiW's many subjects: three times the scale's in every split, as many videos a subject as the others
    oulu_subjects = generate.video_table("synth-oulu", options).groupby("split")["subject"].nunique()
    assert siw.groupby("split")["subject"].nunique().to_dict() == (3 * oulu_subjects).to_dict()
    oulu = generate.video_table("synth-oulu", options)
    assert sorted(oulu.loc[oulu["label"] == "spoof", "attack_device"].unique()) == [1, 2]  # as OULU-NPU's index


def test_motion_scales_how_far_a_head_moves_between_frames():
    from dgfas.data.synthetic.domains import SIW
    from dgfas.data.synthetic.face_render import Pose
    from dgfas.data.synthetic.shoot import move_head

    def yaw_steps(motion):
        rng = np.random.default_rng(0)
        return np.array([move_head(rng, Pose(), motion).yaw for _ in range(4000)])

    assert yaw_steps(2.5).std() == pytest.approx(2.5 * yaw_steps(1.0).std(), rel=0.05)
    assert SIW.pose.motion > max(d.pose.motion for d in DOMAINS.values() if d is not SIW)


def test_two_processes_building_one_cache_wait_for_each_other(tmp_path, built):
    """Two benchmarks started together on an empty cache: one builds, the other waits and reads the same
    domains (unlocked, each removed the other's partial folder mid-write)."""
    import subprocess
    import sys

    options, paths = built
    command = [sys.executable, "-m", "dgfas.cli", "data", "generate", "--preset", "tiny", "--size", "32",
               "--cache", str(tmp_path), "--workers", "1", "--no-progress"]
    builders = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for builder in builders:
        assert builder.wait(timeout=600) == 0, builder.stderr.read()
    folder = generate.cache_folder(tiny(tmp_path))
    for name in NAMES:
        assert _file_bytes(folder / name) == _file_bytes(paths[name]), name
