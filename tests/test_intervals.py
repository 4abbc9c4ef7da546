"""Bootstrap intervals over test subjects and seeds: the resampled metrics equal dgfas.metrics on the
resampled data, degenerate samples, and coverage of a known HTER on simulated scores."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from dgfas.metrics import compute_metrics, eer_threshold
from dgfas.tracking.intervals import SUBJECT, VIDEO, RunScores, Term, estimate, observed, run_metrics


def _table(rng: np.random.Generator, subjects: int = 8, per_class: int = 3, shift: float = 1.0) -> pd.DataFrame:
    """Video scores of ``subjects`` people, ``per_class`` live and spoof videos each, rounded so scores tie."""
    subject = np.repeat(np.arange(subjects), 2 * per_class)
    label = np.tile(np.repeat([1, 0], per_class), subjects)
    score = rng.normal(shift * label, 1.0) + rng.normal(0, 0.5, subjects)[subject]
    return pd.DataFrame({"video_id": [f"d/v{i}" for i in range(len(subject))], "label": label,
                         "score": np.round(score, 1), "subject": subject})


@pytest.mark.parametrize("threshold", [0.3, None], ids=["dev_eer", "oracle_eer"])
def test_metrics_at_multiplicities_equal_dgfas_metrics_on_the_duplicated_subjects(threshold):
    rng = np.random.default_rng(0)
    table = _table(rng)
    run = RunScores.from_table(table, threshold)
    units = np.unique(run.unit)
    metrics = run_metrics(run, units)
    for draw in range(5):
        picked = rng.integers(0, len(units), len(units))  # a resample of subjects, repeats included
        resampled = pd.concat([table[table["subject"].astype(str) == units[i]] for i in picked])
        label, score = resampled["label"].to_numpy(), resampled["score"].to_numpy()
        rule_threshold = eer_threshold(label, score) if threshold is None else threshold
        expected = compute_metrics(label, score, threshold=rule_threshold, threshold_rule="dev_eer")
        multiplicity = np.bincount(picked, minlength=len(units))[None].astype(float)
        assert metrics["hter"](multiplicity)[0] == pytest.approx(expected.hter, abs=1e-12)
        assert metrics["auc"](multiplicity)[0] == pytest.approx(expected.auc, abs=1e-12)
    everyone = compute_metrics(table["label"], table["score"], threshold=threshold if threshold is not None
                               else eer_threshold(table["label"], table["score"]), threshold_rule="dev_eer")
    assert observed(run) == pytest.approx({"hter": everyone.hter, "auc": everyone.auc}, abs=1e-12)


def test_a_cell_is_the_mean_over_seeds_and_protocols_and_its_interval_holds_it():
    rng = np.random.default_rng(1)
    first = [RunScores.from_table(_table(rng), 0.5) for _ in range(3)]
    second = [RunScores.from_table(_table(rng, subjects=6), None) for _ in range(2)]
    cell = estimate([[Term(run) for run in first]])
    assert cell["hter"].value == pytest.approx(np.mean([observed(run)["hter"] for run in first]))
    average = estimate([[Term(run) for run in first], [Term(run) for run in second]])
    assert average["auc"].value == pytest.approx(
        (np.mean([observed(run)["auc"] for run in first]) + np.mean([observed(run)["auc"] for run in second])) / 2)
    for interval in (*cell.values(), *average.values()):
        assert interval.low < interval.value < interval.high
    assert estimate([[Term(run) for run in first]]) == cell, "a fixed bootstrap seed: equal input, equal interval"


def test_one_seed_resamples_subjects_one_subject_resamples_seeds_and_neither_has_no_interval():
    rng = np.random.default_rng(2)
    one_seed = estimate([[Term(RunScores.from_table(_table(rng), 0.5))]])["hter"]
    assert one_seed.low < one_seed.value < one_seed.high
    lonely = [RunScores.from_table(_table(rng, subjects=1, per_class=4), 0.5) for _ in range(4)]
    seeds_only = estimate([[Term(run) for run in lonely]])["hter"]
    per_seed = [observed(run)["hter"] for run in lonely]
    assert min(per_seed) <= seeds_only.low <= seeds_only.high <= max(per_seed) and seeds_only.low < seeds_only.high
    nothing = estimate([[Term(lonely[0])]])["hter"]
    assert nothing.value == pytest.approx(per_seed[0]) and np.isnan(nothing.low) and np.isnan(nothing.high)


def test_all_correct_scores_have_a_zero_width_interval_and_a_run_minus_itself_is_zero():
    rng = np.random.default_rng(3)
    perfect = [RunScores.from_table(_table(rng, shift=100.0), threshold) for threshold in (50.0, None)]
    for run in perfect:
        cell = estimate([[Term(run), Term(run)]])
        assert (cell["hter"].low, cell["hter"].high) == (0.0, 0.0) and (cell["auc"].low, cell["auc"].high) == (1, 1)
    run = RunScores.from_table(_table(rng), 0.5)
    itself = estimate([[Term(run, run), Term(run, run)]], ("hter",))["hter"]
    assert (itself.value, itself.low, itself.high) == (0.0, 0.0, 0.0)


def test_a_paired_difference_is_narrower_than_its_unpaired_parts_when_the_test_set_dominates():
    rng = np.random.default_rng(4)
    base = _table(rng, subjects=12)
    better = base.assign(score=base["score"] + 0.3 * base["label"])  # same people, lives scored a little higher
    runs, improved = RunScores.from_table(base, 0.5), RunScores.from_table(better, 0.5)
    difference = estimate([[Term(improved, runs)]], ("hter",))["hter"]
    alone = estimate([[Term(improved)]], ("hter",))["hter"]
    assert difference.value == pytest.approx(observed(improved)["hter"] - observed(runs)["hter"])
    assert difference.high - difference.low < alone.high - alone.low


def test_without_subjects_the_video_is_the_unit():
    rng = np.random.default_rng(5)
    table = _table(rng)
    assert RunScores.from_table(table, 0.5).unit_kind == SUBJECT
    by_video = RunScores.from_table(table.drop(columns="subject"), 0.5)
    assert by_video.unit_kind == VIDEO and len(np.unique(by_video.unit)) == len(table)


def _simulated_cell(rng: np.random.Generator, sd: dict[str, float], subjects: int, per_class: int, seeds: int):
    """One cell of ``seeds`` runs scored on one test split of ``subjects`` people.

    A video's score is its class mean (+1 live, -1 spoof) plus a subject effect (per person
    and class), a video effect (both shared by every seed's run: the same test videos), a
    seed effect and a seed-by-video effect; at the threshold 0 each class is in error with
    probability Phi(-1 / total sd), so that is the true HTER the cell estimates.
    """
    subject = np.repeat(np.arange(subjects), 2 * per_class)
    label = np.tile(np.repeat([1, 0], per_class), subjects)
    sign = 2 * label - 1
    fixed = sign + rng.normal(0, sd["subject"], (subjects, 2))[subject, label] + rng.normal(0, sd["video"], len(label))
    runs = []
    for _ in range(seeds):
        score = fixed + rng.normal(0, sd["seed"]) + rng.normal(0, sd["seed_video"], len(label))
        runs.append(RunScores(label, score, subject.astype(str), SUBJECT, 0.0))
    return [Term(run) for run in runs]


def test_the_interval_covers_a_known_hter_at_about_the_nominal_rate():
    sd = {"subject": 0.8, "video": 0.6, "seed": 0.2, "seed_video": 0.3}
    true_hter = norm.cdf(-1 / np.sqrt(sum(value**2 for value in sd.values())))
    rng = np.random.default_rng(6)
    cells = 200
    covered = 0
    for _ in range(cells):
        interval = estimate([_simulated_cell(rng, sd, subjects=10, per_class=3, seeds=3)], ("hter",),
                            n_resamples=1000)["hter"]
        covered += interval.low <= true_hter <= interval.high
    assert 0.88 <= covered / cells <= 0.99, covered / cells
