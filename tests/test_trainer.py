import dataclasses

import numpy as np
import pytest
import torch

from dgfas import checkpoints
from dgfas.algorithms import get_algorithm
from dgfas.data.batches import BalancedSampler
from dgfas.data.frames import concat_frames, frames_fingerprint, sample_frames
from dgfas.data.registry import DataOptions
from dgfas.errors import DgfasError
from dgfas.models.resnet import ResNetConfig
from dgfas.metrics import compute_metrics
from dgfas.protocols import get_protocol
from dgfas.run import ResolvedRun, RunSpec, TrainerConfig
from dgfas.selection import SELECTION_RULES
from dgfas.trainer import train


def test_sample_frames_spreads_evenly_and_clamps_short_videos(frames_factory):
    frames = frames_factory("d", "train", videos=2, frames_per_video=5)
    short = frames.select(~((frames.video_id == "d/train_v1") & (frames.frame >= 2)))  # v1 has frames 0, 1
    kept = sample_frames(short, 3)
    by_video = {v: sorted(kept.frame[kept.video_id == v]) for v in np.unique(kept.video_id)}
    assert by_video == {"d/train_v0": [0, 2, 4], "d/train_v1": [0, 1]}
    assert sample_frames(short, 0) is short


def test_balanced_sampler_draws_half_live_and_sees_every_frame(frames_factory):
    frames = frames_factory("d", "train", videos=4, frames_per_video=3)  # 6 live, 6 spoof frames
    sampler = BalancedSampler(frames.label, frames.domain, np.random.default_rng(0))
    rows = np.concatenate([sampler.draw(4) for _ in range(3)])
    assert (frames.label[rows] == 1).sum() == 6
    assert sorted(rows) == list(range(12))
    with pytest.raises(DgfasError, match="has no spoof training frames"):
        BalancedSampler(frames.label[frames.label == 1], frames.domain, np.random.default_rng(0))


def _run(frames_factory, selection_rule: str, steps: int = 6, method: str = "erm") -> ResolvedRun:
    protocol = get_protocol("OCI-M")
    spec = RunSpec(protocol="OCI-M", method=method, seed=0, preset="tiny")
    algorithm = get_algorithm(method)
    return ResolvedRun(
        spec=spec,
        protocol=protocol,
        algorithm_config=algorithm.Config(),
        model_config=ResNetConfig(width=0.125),
        trainer_config=TrainerConfig(steps=steps, batch_per_domain=4, eval_every=2, selection_rule=selection_rule, device="cpu"),
        source_train={d: frames_factory(f"synth-{d}", "train", seed=i) for i, d in enumerate(protocol.sources)},
        source_val=concat_frames([frames_factory(f"synth-{d}", "dev", seed=10 + i) for i, d in enumerate(protocol.sources)]),
        target_test=frames_factory("synth-M", "test", seed=20),
        data_fingerprint="test",
    )


def test_train_scores_both_roles_at_both_levels_and_logs_curves(frames_factory):
    logged = []
    result = train(_run(frames_factory, "last"), lambda metrics, step: logged.append((step, metrics)), progress=False)
    assert result.selected_step == 6
    other_rules = {f"selection.{rule}.target_test.video" for rule in SELECTION_RULES.names() if rule != "last"}
    assert set(result.tables) == {"source_val.frame", "source_val.video", "target_test.frame", "target_test.video",
                                  *other_rules}
    assert len(result.tables["target_test.video"]) == 6 and len(result.tables["target_test.frame"]) == 18
    for role in ("source_val", "target_test"):
        for level in ("frame", "video"):
            for rule in ("dev_eer", "oracle_eer"):
                assert 0 <= result.metrics[f"{role}.{level}.hter.{rule}"] <= 1
            assert 0 <= result.metrics[f"{role}.{level}.auc"] <= 1
    assert [step for step, m in logged if "eval.source_val.video.eer" in m] == [2, 4, 6]
    assert any("train.loss" in m for _, m in logged)


def test_score_tables_carry_subjects_and_each_other_rules_checkpoint_gets_its_target_scores(frames_factory):
    run = _run(frames_factory, "last")
    result = train(run, progress=False)
    frames = result.tables["target_test.frame"]
    assert (frames["subject"].to_numpy() == run.target_test.subject).all()
    videos = result.tables["target_test.video"]
    assert videos.groupby("subject")["video_id"].nunique().sum() == len(videos), "a video has one subject"
    for rule in ("oracle", "source_val"):
        table = result.tables[f"selection.{rule}.target_test.video"]
        assert table.drop(columns="score").equals(videos.drop(columns="score"))
        # the scores are those of the step the rule picks: they give the metrics logged for it
        label, score = table["label"].to_numpy(), table["score"].to_numpy()
        auc = compute_metrics(label, score, threshold=0.5, threshold_rule="dev_eer").auc
        assert auc == pytest.approx(result.metrics[f"selection.{rule}.target_test.video.auc"], abs=1e-9)
    oracle_step = int(result.metrics["selection.oracle.selected_step"])
    if oracle_step != result.selected_step:
        assert not np.array_equal(result.tables["selection.oracle.target_test.video"]["score"], videos["score"])


def test_run_key_changes_with_any_resolved_argument(frames_factory):
    run = _run(frames_factory, "last")
    other = _run(frames_factory, "source_val")
    assert run.run_key == _run(frames_factory, "last").run_key
    assert run.run_key != other.run_key
    assert run.params()["trainer.selection_rule"] == "last" and run.params()["model.width"] == "0.125"


def test_run_key_is_keyed_by_the_code_hash_and_the_protocol_files_content(frames_factory, monkeypatch):
    from dgfas import run as run_module
    from dgfas.code_identity import code_hash

    run = _run(frames_factory, "last")
    assert run.params()["code_hash"] == code_hash("erm", "resnet18") == run.code_hash
    assert run.params()["protocol_hash"] == get_protocol("OCI-M").content_hash
    key = run.run_key
    same_content = dataclasses.replace(run.protocol, path=run.protocol.path.with_name("copy.toml"))
    assert dataclasses.replace(run, protocol=same_content).run_key == key, "a copy of the file is the same protocol"
    edited = dataclasses.replace(run.protocol, content_hash="0" * 16)
    assert dataclasses.replace(run, protocol=edited).run_key != key
    monkeypatch.setattr(run_module, "code_hash", lambda method, model: "edited-code")
    assert run.params()["code_hash"] == "edited-code" and run.run_key != key


def test_variant_names_the_method_and_its_overrides(frames_factory):
    run = _run(frames_factory, "last")
    assert run.variant == "erm" and run.params()["variant"] == "erm"
    run.spec = RunSpec(
        protocol="OCI-M", method="erm", preset="tiny", algorithm_overrides={"lr": "1e-4"},
        trainer_overrides={"steps": 6, "device": "cpu"},
    )
    run.algorithm_config = dataclasses.replace(run.algorithm_config, lr=1e-4)
    assert run.variant == "erm[lr=0.0001, trainer.steps=6]"


def test_a_method_that_cannot_train_on_one_source_is_refused_before_loading_data(tmp_path):
    from dgfas.errors import UnsupportedSetting
    from dgfas.run import resolve

    with pytest.raises(UnsupportedSetting, match="needs at least 2 source domains"):
        resolve(RunSpec(protocol="C-I", method="multitask_meta", preset="tiny"), DataOptions(tmp_path / "cache"))
    assert not (tmp_path / "cache").exists()


def test_selection_rule_picks_among_evaluated_steps(frames_factory):
    result = train(_run(frames_factory, "source_val"), progress=False)
    assert result.selected_step in (2, 4, 6)


def test_fingerprint_follows_the_frames(frames_factory):
    frames = frames_factory("d", "train")
    same = frames_factory("d", "train")
    assert frames_fingerprint([frames]) == frames_fingerprint([same])
    same.images[0, 0, 0, 0] ^= 1
    assert frames_fingerprint([frames]) != frames_fingerprint([same])



class Interrupt(Exception):
    pass


def _interrupt_at_step_6(metrics, step):
    if step == 6:  # the evaluation at step 6 is logged before its checkpoint is saved
        raise Interrupt


@pytest.mark.parametrize("method", ["erm", "multitask_meta", "auxiliary"])
def test_interrupted_run_resumes_from_its_checkpoint_with_the_same_result(frames_factory, tmp_path, method):
    whole = train(_run(frames_factory, "source_val", steps=8, method=method), progress=False)
    checkpoint = tmp_path / "checkpoint.pt"
    with pytest.raises(Interrupt):
        train(_run(frames_factory, "source_val", steps=8, method=method), _interrupt_at_step_6, progress=False,
              checkpoint=checkpoint)
    assert checkpoints.load(checkpoint)["step"] == 4
    resumed = train(_run(frames_factory, "source_val", steps=8, method=method), progress=False, checkpoint=checkpoint)
    assert resumed.selected_step == whole.selected_step
    for name, table in whole.tables.items():
        np.testing.assert_allclose(resumed.tables[name]["score"], table["score"], rtol=1e-5, atol=1e-6)


def test_one_run_reports_the_metrics_of_every_selection_rule(frames_factory):
    """The checkpoint each other rule would pick is scored by the evaluation made at its step."""
    from dgfas.selection import SELECTION_RULES
    from dgfas.evaluation import metrics_under_other_rules

    evaluations = {
        2: {"source_val.video.eer": 0.2, "source_val.video.auc": 0.8, "target_test.video.hter.oracle_eer": 0.1,
            "target_test.video.auc": 0.9},
        4: {"source_val.video.eer": 0.1, "source_val.video.auc": 0.9, "target_test.video.hter.oracle_eer": 0.3,
            "target_test.video.auc": 0.7},
        6: {"source_val.video.eer": 0.3, "source_val.video.auc": 0.7, "target_test.video.hter.oracle_eer": 0.2,
            "target_test.video.auc": 0.8},
    }
    others = metrics_under_other_rules(evaluations, "source_val")
    assert not any(k.startswith("selection.source_val.") for k in others)
    assert others["selection.oracle.selected_step"] == 2 and others["selection.oracle.target_test.video.auc"] == 0.9
    assert others["selection.last.selected_step"] == 6
    assert {k.split(".")[1] for k in others} == set(SELECTION_RULES.names()) - {"source_val"}


def test_resolve_records_the_resolved_precision_and_keeps_only_the_maps_the_method_uses(tiny_cache):
    from dgfas.run import resolve

    data = DataOptions(tiny_cache, progress=False)
    auto = resolve(RunSpec(protocol="OCI-M", method="pyramid", preset="tiny",
                           trainer_overrides={"device": "cpu"}), data)
    assert auto.params()["trainer.precision"] == "fp32" and auto.params()["trainer.device"] == "cpu"
    assert all(fs.depth is not None and fs.parsing is None and fs.reflection is None
               for fs in auto.source_train.values()), "pyramid with its default target trains on depth maps only"
    mask = resolve(dataclasses.replace(auto.spec, algorithm_overrides={"target": "mask"}), data)
    assert all(fs.depth is None and fs.parsing is not None for fs in mask.source_train.values()), \
        "pyramid[target=mask] trains on parsing maps only"
    assert all(getattr(fs, name) is None for fs in (auto.source_val, auto.target_test)
               for name in ("depth", "parsing", "reflection", "pulse"))
    cached = resolve(dataclasses.replace(auto.spec, trainer_overrides={"device": "cpu", "device_cache_share": 0.1}), data)
    assert cached.run_key == auto.run_key, "the device cache share changes speed only"

    bf16 = resolve(RunSpec(protocol="OCI-M", method="erm", preset="tiny",
                           trainer_overrides={"device": "cpu", "precision": "bf16", "steps": 2, "eval_every": 2}), data)
    assert bf16.params()["trainer.precision"] == "bf16" and bf16.run_key != auto.run_key
    result = train(bf16, progress=False)
    assert result.tables["target_test.frame"]["score"].dtype == np.float32
    assert np.isfinite(result.tables["target_test.frame"]["score"]).all()
    assert 0 <= result.metrics["target_test.video.auc"] <= 1


def test_an_unknown_precision_is_a_one_line_error_before_data_is_loaded(tmp_path):
    from dgfas.run import resolve

    with pytest.raises(DgfasError, match="trainer.precision must be one of") as info:
        resolve(RunSpec(protocol="C-I", method="erm", preset="tiny", trainer_overrides={"precision": "fp16"}),
                DataOptions(tmp_path / "cache"))
    assert "\n" not in str(info.value) and not (tmp_path / "cache").exists()


def test_a_step_timer_sees_every_step(frames_factory):
    timed = []
    train(_run(frames_factory, "last", steps=3), progress=False,
          step_timer=lambda step, data_s, update_s: timed.append((step, data_s, update_s)))
    assert [step for step, _, _ in timed] == [1, 2, 3]
    assert all(data_s > 0 and update_s > 0 for _, data_s, update_s in timed)


def test_cpu_scoring_chunks_shrink_with_the_crop_so_activations_stay_small(frames_factory):
    from dgfas.evaluation import scoring_chunk

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert scoring_chunk(frames_factory("synth-oulu", "test", size=64), cpu) == 512
    assert scoring_chunk(frames_factory("synth-oulu", "test", size=256), cpu) == 32
    assert scoring_chunk(frames_factory("synth-oulu", "test", size=256), cuda) == 512  # a GPU takes large batches
