"""PAD metrics against hand-computed cases and brute-force references."""

from __future__ import annotations

import itertools
import json
import time
from fractions import Fraction

import numpy as np
import pytest

from dgfas.errors import DgfasError
from dgfas.metrics import (
    ALL_SPOOFS,
    THRESHOLD_DEPENDENT,
    THRESHOLD_FREE,
    apcer_by_attack,
    compute_metrics,
    eer_threshold,
    tpr_at_far,
)


def labelled(live: list[float], spoof: list[float]) -> tuple[np.ndarray, np.ndarray]:
    label = np.array([1] * len(live) + [0] * len(spoof))
    return label, np.array(live + spoof, dtype=np.float64)


def test_fixed_threshold_accepts_a_score_equal_to_it():
    # live  0.9 0.5 0.4 0.8 -> at t = 0.5 only 0.4 is rejected (0.5 >= 0.5 is accepted): FRR = 1/4
    # spoof 0.1 0.5 0.6 0.2 0.3 -> 0.5 and 0.6 accepted: FAR = 2/5
    # HTER = (0.4 + 0.25) / 2 = 0.325
    label, score = labelled([0.9, 0.5, 0.4, 0.8], [0.1, 0.5, 0.6, 0.2, 0.3])
    metrics = compute_metrics(label, score, threshold=0.5, threshold_rule="fixed")
    assert metrics.far == pytest.approx(0.4)
    assert metrics.frr == pytest.approx(0.25)
    assert metrics.bpcer == metrics.frr
    assert metrics.hter == pytest.approx(0.325)
    # No attack types: all spoofs are one type, so APCER = FAR and ACER = HTER.
    assert metrics.apcer == pytest.approx(0.4)
    assert metrics.acer == pytest.approx(0.325)
    assert (metrics.n_live, metrics.n_spoof) == (4, 5)
    assert (metrics.threshold, metrics.threshold_rule) == (0.5, "fixed")


def test_threshold_just_above_a_tied_score_rejects_all_of_it():
    # Same scores at t = 0.5 + 1e-9: live 0.5 and 0.4 rejected (FRR 2/4), spoof 0.6 accepted (FAR 1/5).
    label, score = labelled([0.9, 0.5, 0.4, 0.8], [0.1, 0.5, 0.6, 0.2, 0.3])
    metrics = compute_metrics(label, score, threshold=0.5 + 1e-9, threshold_rule="fixed")
    assert metrics.frr == pytest.approx(0.5)
    assert metrics.far == pytest.approx(0.2)


def test_eer_threshold_without_ties_in_the_criterion():
    # live 0.6 0.7 0.8 0.9, spoof 0.1 0.2 0.3 0.65
    # t=0.6 : FAR 1/4 (0.65), FRR 0      -> |gap| 1/4
    # t=0.65: FAR 1/4,        FRR 1/4 (0.6) -> 0   <- EER threshold, EER = 1/4
    # t=0.7 : FAR 0,          FRR 1/4    -> 1/4
    label, score = labelled([0.6, 0.7, 0.8, 0.9], [0.1, 0.2, 0.3, 0.65])
    assert eer_threshold(label, score) == 0.65
    metrics = compute_metrics(label, score, threshold=0.65, threshold_rule="oracle_eer")
    assert metrics.eer == pytest.approx(0.25)
    assert metrics.hter == pytest.approx(metrics.eer)


def test_eer_tie_on_gap_is_broken_by_the_smaller_error_sum():
    # live 0.1 0.8, spoof 0.3 0.5 0.5 0.9 (two spoofs tied at 0.5)
    # t=0.1: FAR 4/4, FRR 0   -> gap 1
    # t=0.3: FAR 4/4, FRR 1/2 -> gap 1/2
    # t=0.5: FAR 3/4, FRR 1/2 -> gap 1/4, FAR+FRR 5/4
    # t=0.8: FAR 1/4, FRR 1/2 -> gap 1/4, FAR+FRR 3/4  <- chosen: EER = 3/8
    # t=0.9: FAR 1/4, FRR 1   -> gap 3/4
    label, score = labelled([0.1, 0.8], [0.3, 0.5, 0.5, 0.9])
    assert eer_threshold(label, score) == 0.8
    metrics = compute_metrics(label, score, threshold=0.8, threshold_rule="oracle_eer")
    assert metrics.eer == pytest.approx(0.375)


def test_eer_mirrored_tie_takes_the_lowest_threshold():
    # live 0.1 0.5, spoof 0.5 0.9 (a live and a spoof tied at 0.5)
    # t=0.1: FAR 1,   FRR 0   -> gap 1
    # t=0.5: FAR 1,   FRR 1/2 -> gap 1/2, sum 3/2  <- lowest of the two tied candidates
    # t=0.9: FAR 1/2, FRR 1   -> gap 1/2, sum 3/2
    # EER = 3/4 either way.
    label, score = labelled([0.1, 0.5], [0.5, 0.9])
    assert eer_threshold(label, score) == 0.5
    assert compute_metrics(label, score, threshold=0.5, threshold_rule="oracle_eer").eer == pytest.approx(0.75)


def brute_force_eer_threshold(label: np.ndarray, score: np.ndarray) -> float:
    """The documented rule written as a plain loop in exact fractions."""
    n_live, n_spoof = int((label == 1).sum()), int((label == 0).sum())
    best_key, best_threshold = None, None
    for threshold in sorted(set(score.tolist())):
        far = Fraction(int(((label == 0) & (score >= threshold)).sum()), n_spoof)
        frr = Fraction(int(((label == 1) & (score < threshold)).sum()), n_live)
        key = (abs(far - frr), far + frr, threshold)
        if best_key is None or key < best_key:
            best_key, best_threshold = key, threshold
    return best_threshold


@pytest.mark.parametrize("seed", range(20))
def test_eer_threshold_matches_brute_force_on_tied_scores(seed: int):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(4, 40))
    label = rng.integers(0, 2, size)
    label[:2] = [0, 1]
    score = rng.integers(0, 6, size) / 5.0  # few distinct values: many ties
    assert eer_threshold(label, score) == brute_force_eer_threshold(label, score)


def test_apcer_is_the_worst_attack_type_and_live_rows_are_ignored():
    # threshold 0.5
    # live  0.9 0.8 0.3 0.7 (type "none")      -> 0.3 rejected: BPCER = 1/4
    # print  0.6 0.2 0.1 0.55                  -> 2 of 4 accepted: APCER_print  = 1/2
    # replay 0.7 0.2 0.1 0.05                  -> 1 of 4 accepted: APCER_replay = 1/4
    # mask   0.4 0.45                          -> 0 of 2 accepted: APCER_mask   = 0
    # APCER = max = 1/2; ACER = (1/2 + 1/4)/2 = 3/8
    # FAR = 3/10 over all spoofs; HTER = (3/10 + 1/4)/2 = 11/40
    # (Counting the live "none" rows as a type would give 3/4 accepted and change APCER.)
    label, score = labelled(
        [0.9, 0.8, 0.3, 0.7], [0.6, 0.2, 0.1, 0.55, 0.7, 0.2, 0.1, 0.05, 0.4, 0.45]
    )
    attack = np.array(["none"] * 4 + ["print"] * 4 + ["replay"] * 4 + ["mask"] * 2)
    assert apcer_by_attack(label, score, attack, threshold=0.5) == {
        "mask": 0.0,
        "print": 0.5,
        "replay": 0.25,
    }
    metrics = compute_metrics(label, score, attack, threshold=0.5, threshold_rule="fixed")
    assert metrics.apcer == pytest.approx(0.5)
    assert metrics.bpcer == pytest.approx(0.25)
    assert metrics.acer == pytest.approx(0.375)
    assert metrics.far == pytest.approx(0.3)
    assert metrics.hter == pytest.approx(0.275)


def test_apcer_without_attack_types_is_one_type():
    label, score = labelled([0.9, 0.1], [0.6, 0.2])
    assert apcer_by_attack(label, score, threshold=0.5) == {ALL_SPOOFS: 0.5}


def test_tpr_at_far_1pct():
    # live 0.95 0.9 0.5 0.2; spoofs: 0.92, 0.6 and 98 at 0.1 (100 spoofs: FAR <= 1% allows 1 accept)
    # t=0.92: 1 spoof accepted (1%), lives >= 0.92: 0.95        -> TPR 1/4
    # t=0.9 : 1 spoof accepted (1%), lives 0.95 0.9             -> TPR 2/4  <- best allowed
    # t=0.6 : 2 spoofs accepted (2%) -> not allowed (and all lower thresholds)
    label, score = labelled([0.95, 0.9, 0.5, 0.2], [0.92, 0.6] + [0.1] * 98)
    assert tpr_at_far(label, score) == pytest.approx(0.5)
    assert compute_metrics(label, score, threshold=0.5, threshold_rule="fixed").tpr_at_far_1pct == pytest.approx(0.5)
    # With 50 spoofs, 1% allows 0 accepts: t must exceed 0.92, so t=0.95 -> TPR 1/4.
    label, score = labelled([0.95, 0.9, 0.5, 0.2], [0.92, 0.6] + [0.1] * 48)
    assert tpr_at_far(label, score) == pytest.approx(0.25)
    # A spoof above every live: only "accept nothing" has FAR 0, so TPR 0.
    label, score = labelled([0.5, 0.6], [0.9] + [0.1] * 49)
    assert tpr_at_far(label, score) == 0.0


def brute_force_auc(label: np.ndarray, score: np.ndarray) -> float:
    live, spoof = score[label == 1], score[label == 0]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(live, spoof))
    return wins / (live.size * spoof.size)


def test_auc_matches_a_pair_count():
    # live 0.9 beats 5 spoofs, 0.5 beats 3 and ties 1 (3.5), 0.4 beats 3, 0.8 beats 5: 16.5 / 20
    label, score = labelled([0.9, 0.5, 0.4, 0.8], [0.1, 0.5, 0.6, 0.2, 0.3])
    auc = compute_metrics(label, score, threshold=0.5, threshold_rule="fixed").auc
    assert auc == pytest.approx(0.825)
    assert auc == pytest.approx(brute_force_auc(label, score))
    rng = np.random.default_rng(3)
    label = np.array([0, 1] * 15)
    score = rng.integers(0, 5, 30).astype(float)
    auc = compute_metrics(label, score, threshold=2.0, threshold_rule="fixed").auc
    assert auc == pytest.approx(brute_force_auc(label, score))


def test_as_dict_names_every_metric_and_is_json():
    label, score = labelled([0.9, 0.5], [0.1, 0.6])
    values = compute_metrics(label, score, threshold=0.5, threshold_rule="dev_eer").as_dict()
    assert set(values) == {*THRESHOLD_DEPENDENT, *THRESHOLD_FREE, "threshold_rule"}
    assert json.loads(json.dumps(values)) == values
    assert values["threshold_rule"] == "dev_eer"


@pytest.mark.parametrize(
    ("label", "score", "message"),
    [
        ([1, 1, 1], [0.1, 0.2, 0.3], "got 3 live and 0 spoof"),
        ([0, 0], [0.1, 0.2], "got 0 live and 2 spoof"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "labels must be 0 (spoof) or 1 (live)"),
        ([0, 1], [0.1, np.nan], "NaN or infinite"),
    ],
)
def test_unusable_arrays_are_refused(label: list[int], score: list[float], message: str):
    with pytest.raises(DgfasError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compute_metrics(np.array(label), np.array(score), threshold=0.5, threshold_rule="fixed")


def test_unknown_threshold_rule_is_refused():
    label, score = labelled([0.9], [0.1])
    with pytest.raises(DgfasError, match="unknown threshold rule 'best'"):
        compute_metrics(label, score, threshold=0.5, threshold_rule="best")


def test_hundred_thousand_scores_are_fast():
    rng = np.random.default_rng(0)
    label = rng.integers(0, 2, 100_000)
    score = rng.normal(label.astype(float), 1.0).astype(np.float32)
    attack = np.where(label == 1, "none", rng.choice(["print", "replay"], label.size))
    start = time.perf_counter()
    threshold = eer_threshold(label, score)
    metrics = compute_metrics(label, score, attack, threshold=threshold, threshold_rule="oracle_eer")
    assert time.perf_counter() - start < 2.0
    # At the oracle EER threshold HTER is the EER, and with 100k samples FAR ~ FRR.
    assert metrics.hter == pytest.approx(metrics.eer)
    assert abs(metrics.far - metrics.frr) < 1e-3
    assert threshold in set(score.astype(np.float64).tolist())
