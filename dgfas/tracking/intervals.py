"""95% intervals of leaderboard cells that include the test set's sampling error.

A cell's number is the mean over seeds of a run metric on one target test split.
It varies with the seed (training noise) and with which people happened to be
filmed for the test split: at ``quick`` a split has about ten subjects, and one
live video moves HTER by points. A standard error over seeds sees only the
first, so the interval here comes from a bootstrap that resamples both,
independently: the test subjects (all videos of one subject together, since
they share a face, skin and recording habits) and the seeds. A cell averaging
several protocols resamples each protocol's subjects and seeds on its own.

``scipy.stats.bootstrap`` draws the resamples (``paired=False``: every sample
on its own) of subject and seed indices and takes the percentile interval; the
statistic turns a resample into multiplicities and evaluates every run's metric
at them, vectorized over resamples:

* HTER at a fixed threshold (``dev_eer``: the run's source-validation EER
  threshold, which the target test set does not change) from per-subject
  counts of live and spoof videos and of errors;
* HTER at the ``oracle_eer`` threshold, which looks at the test labels, so
  every resample finds its own EER threshold, as ``dgfas.metrics`` does
  (least |FAR - FRR|, then least FAR + FRR), on the weighted scores;
* AUC from a subject x subject matrix of live-over-spoof pair counts
  (ties count one half, as in ``sklearn.metrics.roc_auc_score``).

A paired difference (a method minus ``erm``) resamples the subjects and the
seeds both methods ran with jointly, so what the two share (the test set, the
seed's data order) cancels.

A sample of one (one seed, or one subject) cannot be resampled and is held
fixed: a single-seed cell's interval holds the test set's error only. Where
nothing can be resampled the interval is undefined (NaN).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

CONFIDENCE = 0.95
N_RESAMPLES = 2000
"""Resamples per interval: a bound's Monte-Carlo spread (its standard deviation over
bootstrap seeds) is about 4% of the half-width at this count on a simulated quick-sized
cell (10 subjects, 3 seeds), and a board of 30 cells x 3 seeds renders in seconds."""
BOOTSTRAP_SEED = 15
"""Seed of every interval's resampling, so equal runs give equal tables."""
_BATCH = 250  # resamples evaluated at once
_BATCH_ELEMENTS = 4_000_000  # at most (resamples x distinct scores) per array: frame-level files have 100k scores

SUBJECT, VIDEO = "subject", "video"
"""Resampling units: test subjects, or videos when the score files carry no subject."""


@dataclass(frozen=True)
class RunScores:
    """One run's target-test scores, as the bootstrap resamples them.

    Attributes:
        label: (V,) 1 live, 0 spoof.
        score: (V,) higher = more live.
        unit: (V,) the resampling unit of each row: its subject, or its video
            when the score file has no ``subject`` column.
        unit_kind: ``SUBJECT`` or ``VIDEO``.
        threshold: the fixed ``dev_eer`` threshold; None recomputes the
            ``oracle_eer`` threshold on every resample.
    """

    label: np.ndarray
    score: np.ndarray
    unit: np.ndarray
    unit_kind: str
    threshold: float | None

    @classmethod
    def from_table(cls, table: pd.DataFrame, threshold: float | None) -> RunScores:
        """From a score table (``dgfas.scores.read_scores``, at either level)."""
        if "subject" in table.columns:
            unit, kind = table["subject"].astype(str).to_numpy(), SUBJECT
        else:
            unit, kind = table["video_id"].astype(str).to_numpy(), VIDEO
        return cls(table["label"].to_numpy(np.int64), table["score"].to_numpy(np.float64), unit, kind, threshold)


@dataclass(frozen=True)
class Term:
    """One seed of a protocol in a statistic: a run, or a run minus ``baseline``'s run of that seed."""

    run: RunScores
    baseline: RunScores | None = None


Metric = Callable[[np.ndarray], np.ndarray]
"""A run's metric as a function of unit multiplicities (B, U) -> (B,)."""


def _counts(index: np.ndarray, size: int, weights: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(index, weights=weights, minlength=size).astype(np.float64)


def _sum(m: np.ndarray, per_unit: np.ndarray) -> np.ndarray:
    """Σ_u m[b, u] per_unit[u, ...]: multiplicities (B, U) times per-unit counts (U,) or (U, K).

    ``einsum`` rather than ``@``: these products are small, and a BLAS call's
    thread start-up costs more than the arithmetic (a quick board's intervals
    took several times as long with ``@`` on two busy cores).
    """
    return np.einsum("bu,u...->b...", m, per_unit)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where a resample holds no live (or no spoof) video."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return numerator / denominator


def _hter_at(run: RunScores, unit_index: np.ndarray, n_units: int) -> Metric:
    live = run.label == 1
    rejected = run.score < run.threshold  # accepted iff score >= threshold
    live_n, spoof_n = _counts(unit_index[live], n_units), _counts(unit_index[~live], n_units)
    false_rejects = _counts(unit_index[live & rejected], n_units)
    false_accepts = _counts(unit_index[~live & ~rejected], n_units)
    return lambda m: (_divide(_sum(m, false_accepts), _sum(m, spoof_n))
                      + _divide(_sum(m, false_rejects), _sum(m, live_n))) / 2


def _hter_at_eer(run: RunScores, unit_index: np.ndarray, n_units: int) -> Metric:
    candidates = np.unique(run.score)  # (K,) ascending; as in dgfas.metrics, every distinct score
    live = run.label == 1
    # (U, K) per unit: lives strictly below each candidate (rejected), spoofs at or above it (accepted)
    live_below = np.zeros((n_units, candidates.size))
    spoof_from = np.zeros((n_units, candidates.size))
    for unit in np.unique(unit_index):
        of_unit = unit_index == unit
        live_below[unit] = np.searchsorted(np.sort(run.score[of_unit & live]), candidates, side="left")
        spoofs = np.sort(run.score[of_unit & ~live])
        spoof_from[unit] = spoofs.size - np.searchsorted(spoofs, candidates, side="left")
    live_n, spoof_n = _counts(unit_index[live], n_units), _counts(unit_index[~live], n_units)

    def hter(m: np.ndarray) -> np.ndarray:
        n_live, n_spoof = _sum(m, live_n)[:, None], _sum(m, spoof_n)[:, None]
        # integer-valued multiplicities keep these exact, as dgfas.metrics compares them in integers
        scaled_far, scaled_frr = _sum(m, spoof_from) * n_live, _sum(m, live_below) * n_spoof
        gap = np.abs(scaled_far - scaled_frr)
        tied = gap == gap.min(1, keepdims=True)
        total = np.where(tied, scaled_far + scaled_frr, np.inf).min(1)
        return _divide(total, 2 * (n_live * n_spoof)[:, 0])

    return hter


def _auc(run: RunScores, unit_index: np.ndarray, n_units: int) -> Metric:
    live = run.label == 1
    live_score, live_unit = run.score[live], unit_index[live]
    pairs = np.zeros((n_units, n_units))  # (live unit, spoof unit): live-over-spoof pairs, ties 1/2
    for unit in np.unique(unit_index[~live]):
        spoofs = np.sort(run.score[~live & (unit_index == unit)])
        below = np.searchsorted(spoofs, live_score, side="left")
        tied = np.searchsorted(spoofs, live_score, side="right") - below
        pairs[:, unit] = _counts(live_unit, n_units, below + tied / 2)
    live_n, spoof_n = _counts(live_unit, n_units), _counts(unit_index[~live], n_units)
    return lambda m: _divide(np.einsum("bs,st,bt->b", m, pairs, m), _sum(m, live_n) * _sum(m, spoof_n))


def run_metrics(run: RunScores, units: np.ndarray) -> dict[str, Metric]:
    """``hter`` (at the run's threshold rule) and ``auc`` of ``run`` over the sorted ``units``."""
    unit_index = np.searchsorted(units, run.unit)
    hter = (_hter_at_eer if run.threshold is None else _hter_at)(run, unit_index, len(units))
    return {"hter": hter, "auc": _auc(run, unit_index, len(units))}


def _multiplicities(resampled: np.ndarray, size: int) -> np.ndarray:
    """(B, n) resampled indices into range(size) -> (B, size) counts of each index."""
    batch = resampled.shape[0]
    flat = (resampled + size * np.arange(batch)[:, None]).ravel()
    return np.bincount(flat, minlength=batch * size).reshape(batch, size).astype(np.float64)


@dataclass(frozen=True)
class Estimate:
    """A statistic at the observed data and its bootstrap interval (NaN where undefined)."""

    value: float
    low: float
    high: float


def estimate(protocols: list[list[Term]], metrics: tuple[str, ...] = ("hter", "auc"),
             n_resamples: int = N_RESAMPLES) -> dict[str, Estimate]:
    """The mean over ``protocols`` of each one's mean over its seeds (``Term``s) of each metric.

    Args:
        protocols: per protocol, one ``Term`` per seed; terms of a protocol
            share its test split, whose units (subjects) are resampled together.
        metrics: names among ``hter``, ``auc``.
        n_resamples: bootstrap resamples.

    Returns:
        Per metric, the observed value and the percentile bootstrap interval
        at :data:`CONFIDENCE`, from resampling every protocol's units and
        seeds independently (``BOOTSTRAP_SEED``).
    """
    parts = []  # per protocol: (metric functions per term, unit sample slot, seed sample slot)
    samples: list[np.ndarray] = []
    for terms in protocols:
        runs = [run for term in terms for run in (term.run, term.baseline) if run is not None]
        units = np.unique(np.concatenate([run.unit for run in runs]))
        per_term = []
        for term in terms:
            functions = run_metrics(term.run, units)
            if term.baseline is not None:
                baseline = run_metrics(term.baseline, units)
                functions = {name: (lambda m, f=functions[name], g=baseline[name]: f(m) - g(m)) for name in metrics}
            per_term.append(functions)
        slots = []
        for size in (len(units), len(terms)):
            slots.append(len(samples) if size > 1 else None)
            if size > 1:
                samples.append(np.arange(size))
        parts.append((per_term, len(units), *slots))

    def statistic(*resampled: np.ndarray, batch: int = 1) -> np.ndarray:
        by_metric = np.zeros((len(metrics), batch))
        for per_term, n_units, unit_slot, seed_slot in parts:
            m = np.ones((batch, n_units)) if unit_slot is None else _multiplicities(resampled[unit_slot], n_units)
            n_seeds = len(per_term)
            k = np.ones((batch, n_seeds)) if seed_slot is None else _multiplicities(resampled[seed_slot], n_seeds)
            for row, name in enumerate(metrics):
                values = np.stack([functions[name](m) for functions in per_term], axis=1)  # (B, seeds)
                by_metric[row] += (values * k).sum(1) / k.sum(1)
        return by_metric / len(parts)

    at_data = statistic(*(sample[None] for sample in samples), batch=1)[:, 0]  # every unit and seed once
    if not samples:
        return {name: Estimate(float(value), np.nan, np.nan) for name, value in zip(metrics, at_data)}

    def vectorized(*resampled: np.ndarray, axis: int = -1) -> np.ndarray:
        flat = [np.asarray(sample).reshape(-1, np.shape(sample)[-1]).astype(np.int64) for sample in resampled]
        return statistic(*flat, batch=flat[0].shape[0]).reshape(len(metrics), *np.shape(resampled[0])[:-1])

    largest = max(term.run.score.size for terms in protocols for term in terms)
    batch = max(1, min(_BATCH, _BATCH_ELEMENTS // largest))
    result = bootstrap(
        tuple(samples), vectorized, n_resamples=n_resamples, batch=batch, vectorized=True, paired=False,
        confidence_level=CONFIDENCE, method="percentile", rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    low, high = np.atleast_1d(result.confidence_interval.low), np.atleast_1d(result.confidence_interval.high)
    return {name: Estimate(float(at_data[i]), float(low[i]), float(high[i])) for i, name in enumerate(metrics)}


def observed(run: RunScores) -> dict[str, float]:
    """``hter`` and ``auc`` of ``run``'s scores as they are (every unit once), for checking them
    against the metrics the run logged."""
    units = np.unique(run.unit)
    return {name: float(metric(np.ones((1, len(units))))[0]) for name, metric in run_metrics(run, units).items()}
