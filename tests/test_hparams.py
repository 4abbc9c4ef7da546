"""Hyper-parameter draws (seed_hash, search spaces, sweep job lists) and choosing among draws."""

import math

import pandas as pd
import pytest

from dgfas.algorithms import ALGORITHMS, get_algorithm
from dgfas.config import allowed_of, with_overrides
from dgfas.errors import DgfasError
from dgfas.hparams import Choice, LogUniform, Uniform, draw_hparams, seed_hash
from dgfas.run import RunSpec
from dgfas.sweep import with_draws
from dgfas.tracking.draws import choose_draws
from dgfas.tracking.aggregation import aggregate

SPACE = {"lr": LogUniform(1e-4, 1e-2), "margin": Uniform(0.1, 1.0), "augment": Choice((True, False))}


def test_seed_hash_is_domainbeds_md5_and_stable_across_processes():
    # md5 of repr((0, 1, 'lr')) mod 2**31, pinned: Python's salted hash() would change per process.
    assert seed_hash(0, 1, "lr") == 880177921


def test_draw_zero_is_the_defaults_and_a_draw_repeats_exactly():
    assert draw_hparams(SPACE, seed=3, draw=0) == {}
    assert draw_hparams(SPACE, seed=3, draw=2) == draw_hparams(SPACE, seed=3, draw=2)
    drawn = draw_hparams(SPACE, seed=3, draw=2)
    assert 1e-4 <= drawn["lr"] <= 1e-2 and 0.1 <= drawn["margin"] <= 1.0 and isinstance(drawn["augment"], bool)


def test_adding_a_parameter_leaves_the_other_draws_unchanged():
    grown = {"alpha": Uniform(0.0, 1.0), **SPACE, "zeta": LogUniform(1.0, 10.0)}
    for seed in range(3):
        for draw in range(1, 4):
            before, after = draw_hparams(SPACE, seed=seed, draw=draw), draw_hparams(grown, seed=seed, draw=draw)
            assert {name: after[name] for name in SPACE} == before


def test_draws_differ_across_seeds_and_draw_indices():
    by_seed = {draw_hparams(SPACE, seed=seed, draw=1)["lr"] for seed in range(5)}
    by_draw = {draw_hparams(SPACE, seed=0, draw=draw)["lr"] for draw in range(1, 6)}
    assert len(by_seed) == 5 and len(by_draw) == 5


def test_bad_distributions_are_refused():
    with pytest.raises(DgfasError, match="0 < low < high"):
        LogUniform(0.0, 1.0)
    with pytest.raises(DgfasError, match="low < high"):
        Uniform(1.0, 1.0)
    with pytest.raises(DgfasError, match="at least one option"):
        Choice(())


@pytest.mark.parametrize("method", ALGORITHMS.names())
def test_every_search_space_draws_valid_overrides_of_its_config(method):
    algorithm = get_algorithm(method)
    assert algorithm.search_space, f"{method} declares no search space"
    default = algorithm.Config()
    drawn = with_overrides(default, draw_hparams(algorithm.search_space, seed=0, draw=1))
    changed = [name for name in algorithm.search_space if getattr(drawn, name) != getattr(default, name)]
    assert changed  # a draw moves away from the defaults (a Choice may land on its default)
    for name, distribution in algorithm.search_space.items():
        if isinstance(distribution, LogUniform):
            assert distribution.low <= getattr(default, name) <= distribution.high, f"{method}.{name} default outside its range"


@pytest.mark.parametrize("method", ALGORITHMS.names())
def test_every_search_space_lies_within_what_its_settings_allow(method):
    """A draw must never be refused when a sweep's jobs are checked: each distribution's whole range is allowed."""
    algorithm = get_algorithm(method)
    for name, distribution in algorithm.search_space.items():
        values = distribution.options if isinstance(distribution, Choice) else (distribution.low, distribution.high)
        allowed = allowed_of(algorithm.Config, name)
        if allowed is None:  # only a switch may go without bounds
            assert all(isinstance(v, bool) for v in values), f"{method}.{name} is drawn but declares nothing it allows"
            continue
        refused = [v for v in values if not allowed.allows(v)]
        assert not refused, f"{method}.{name} draws {refused}, which it does not allow"


def test_with_draws_expands_each_spec_and_keeps_set_overrides_fixed():
    specs = [RunSpec("C-I", "erm", seed=0, algorithm_overrides={"weight_decay": "0.0"}), RunSpec("C-I", "erm", seed=1)]
    jobs = with_draws(specs, 2)
    assert [(job.seed, job.hparam_draw) for job in jobs] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert jobs[0].algorithm_overrides == {"weight_decay": "0.0"}
    assert jobs[1].algorithm_overrides == {"lr": draw_hparams(get_algorithm("erm").search_space, seed=0, draw=1)["lr"],
                                           "weight_decay": "0.0"}
    assert jobs[4].algorithm_overrides == draw_hparams(get_algorithm("erm").search_space, seed=1, draw=1)


def test_with_draws_runs_a_fully_fixed_method_once():
    fixed = RunSpec("C-I", "erm", algorithm_overrides={"lr": "1e-4", "weight_decay": "0.0"})
    assert [job.hparam_draw for job in with_draws([fixed], 3)] == [0]


def _record(method, seed, draw, source_eer, oracle_hter, start_time=1):
    return {
        "method": method, "protocol": "C-I", "seed": seed, "data_source": "synthetic", "preset": "tiny",
        "selection_rule": "source_val", "start_time": start_time, "hparam_draw": draw,
        "source_val.video.eer": source_eer, "target_test.video.hter.oracle_eer": oracle_hter,
        "target_test.video.hter.dev_eer": oracle_hter + 0.05, "target_test.video.auc": 0.9,
    }


@pytest.fixture
def sweep_records():
    rows = [
        # seed 0: the defaults run by `dgfas benchmark` (untagged: draw 0), and two draws
        _record("erm", 0, None, 0.30, 0.10),
        _record("erm[lr=0.002]", 0, 1, 0.10, 0.40),
        _record("erm[lr=0.0005]", 0, 2, 0.20, 0.30),
        # seed 1: draw 1 ran twice; its newer run is the one that counts
        _record("erm", 1, 0, 0.20, 0.20),
        _record("erm[lr=0.003]", 1, 1, 0.05, 0.05, start_time=1),
        _record("erm[lr=0.003]", 1, 1, 0.50, 0.50, start_time=2),
        # an ablation outside any sweep: not a draw, never chosen
        _record("erm[weight_decay=0.0]", 0, None, 0.01, 0.01),
    ]
    records = pd.DataFrame(rows)
    records["hparam_draw"] = records["hparam_draw"].astype("Int64")
    return records


def test_choose_draws_by_source_validation_eer(sweep_records):
    chosen = choose_draws(sweep_records, "source_val")
    assert chosen[["method", "seed", "variant", "hparam_draw"]].values.tolist() == [
        ["erm", 0, "erm[lr=0.002]", 1],
        ["erm", 1, "erm", 0],
    ]
    table = aggregate(chosen)  # one row per (method, protocol, seed): the leaderboard takes it as is
    row = table[table["protocol"] == "C-I"].iloc[0]
    assert row["method"] == "erm" and row["n_seeds"] == 2
    assert math.isclose(row["hter_mean"], (0.45 + 0.25) / 2)


def test_choose_draws_by_oracle_target_hter(sweep_records):
    chosen = choose_draws(sweep_records, "oracle")
    assert chosen[["seed", "variant", "hparam_draw"]].values.tolist() == [[0, "erm", 0], [1, "erm", 0]]


def test_choose_draws_names_the_valid_rules_and_missing_columns(sweep_records):
    with pytest.raises(DgfasError, match=r"unknown draw rule 'best'; valid: \['loso', 'oracle', 'source_val'\]"):
        choose_draws(sweep_records, "best")
    with pytest.raises(DgfasError, match=r"lack column\(s\) \['hparam_draw'\]"):
        choose_draws(sweep_records.drop(columns="hparam_draw"), "source_val")
    with pytest.raises(DgfasError, match="no leave-one-source-domain-out runs.*--loso"):
        choose_draws(sweep_records, "loso")
