"""Aggregate a board's runs per method and protocol: means over seeds, 95% intervals, differences to erm.

:func:`aggregate` gives, per method and protocol, the mean over seeds of HTER and
AUC with a 95% interval over test subjects and seeds
(:mod:`dgfas.tracking.intervals`) and the paired HTER difference to
:data:`BASELINE`, plus an "Average" over the protocols of each protocol kind
(leave-one-out, limited-source, cross-test); :func:`literature_table` the same
under the rules most papers report with.

An average never mixes kinds: a cross-test trains on one domain and a leave-one-out
protocol on three, so their HTERs measure different things.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dgfas.errors import DgfasError
from dgfas.metric_names import metric_name, selection_prefix
from dgfas.scores import LEVELS
from dgfas.selection import get_threshold_rule
from dgfas.tracking import intervals
from dgfas.tracking.header import HeaderInfo
from dgfas.tracking.intervals import RunScores, Term
from dgfas.tracking.counted_runs import RUN_IDENTITY, ArtifactFetcher, load_run_scores, metric_prefix
from dgfas.tracking.table_order import AVERAGE, KIND_ORDER, KINDS_WITHOUT_AVERAGE, protocol_kind, protocol_order

_INTERVAL_COLUMNS = ("hter_lo", "hter_hi", "auc_lo", "auc_hi", "hter_delta_erm", "hter_delta_erm_lo",
                     "hter_delta_erm_hi")
AGGREGATED_COLUMNS = (
    "method", "protocol_kind", "protocol", "n_seeds", "hter_mean", "hter_se", "auc_mean", "auc_se",
    *_INTERVAL_COLUMNS, "interval_unit", "code_hash",
)
"""``*_lo``/``*_hi``: 95% interval bounds; ``hter_delta_erm``: HTER minus ``erm``'s over the seeds
both ran; ``interval_unit``: what the bootstrap resampled (``subject``, ``video``, "" for none)."""


#: The rules most DG-FAS papers report with: checkpoint and threshold both chosen on the target test split.
LITERATURE_RULES = ("oracle", "oracle_eer")

BASELINE = "erm"
"""The method every row's paired difference is taken to."""


def aggregate(
    records: pd.DataFrame,
    *,
    level: str = "video",
    threshold_rule: str = "dev_eer",
    selection_rule: str | None = None,
    scores: dict[str, RunScores] | None = None,
    n_resamples: int = intervals.N_RESAMPLES,
) -> pd.DataFrame:
    """Mean over seeds of target-test HTER and AUC per method and protocol, with 95% intervals.

    The standard error is the sample standard deviation over seeds / sqrt(n), NaN for
    a single seed. Each method also gets one ``AVERAGE`` row per protocol kind it has
    runs of: the mean over that kind's protocols of the per-protocol means, with
    standard error sqrt(sum of squared SEs) / k (protocols are trained independently).
    The average is NaN when the method lacks a protocol of the kind that another
    method has, since an average over fewer protocols is not comparable; its
    ``n_seeds`` is the smallest n among its protocols of the kind.

    Where ``scores`` holds every run of a cell, the cell gets a 95% bootstrap
    interval over test subjects and seeds (:mod:`dgfas.tracking.intervals`);
    every row but :data:`BASELINE`'s gets its paired HTER difference to it
    over the seeds both ran, with an interval where both have scores.

    Args:
        records: One row per run with ``method``, ``protocol``, ``seed`` and the metric
            columns ``target_test.{level}.hter.{threshold_rule}`` and ``target_test.{level}.auc``
            (and ``run_id`` to find its scores).
        level: "video" or "frame".
        threshold_rule: Which threshold's HTER to aggregate.
        selection_rule: Aggregate the checkpoints another selection rule would
            have picked (the runs' ``selection.<rule>.*`` metrics) instead of
            those the runs selected; None keeps the runs' own.
        scores: ``load_run_scores`` of the same runs, level and rules; None: no intervals.
        n_resamples: Bootstrap resamples per interval.

    Returns:
        Columns ``AGGREGATED_COLUMNS``; values are fractions in [0, 1] (NaN where
        undefined), rows sorted by method, then kind in ``KIND_ORDER``, then protocol
        in canonical order with the kind's ``AVERAGE`` last.

    Raises:
        DgfasError: a run's score file does not give the metric its record holds.
    """
    if level not in LEVELS:
        raise DgfasError(f"unknown level '{level}'; valid: {list(LEVELS)}")
    get_threshold_rule(threshold_rule)
    prefix = metric_prefix(records, selection_rule)
    hter_column = prefix + metric_name("target_test", level, "hter", threshold_rule)
    auc_column = prefix + metric_name("target_test", level, "auc")
    for column in (hter_column, auc_column):
        if column not in records.columns:
            available = sorted(name for name in records.columns if name.startswith("target_test."))
            raise DgfasError(f"run records have no metric '{column}'; available: {available}")
    if records.empty:
        raise DgfasError("no finished runs to aggregate")
    duplicated = records.duplicated(RUN_IDENTITY, keep=False)
    if duplicated.any():
        first = records.loc[duplicated, RUN_IDENTITY].iloc[0].tolist()
        raise DgfasError(f"several runs for (method, protocol, seed) = {first}; keep one per seed first")

    grouped = records.groupby(["method", "protocol"], sort=False)
    # Seeds are counted where the metric exists: runs logged before a metric was added lack it
    # (e.g. the ``selection.oracle.*`` metrics), and a cell's n must be what its mean is over.
    counted = grouped[hter_column].count()
    per_protocol = pd.DataFrame(
        {
            "n_seeds": counted,
            "hter_mean": grouped[hter_column].mean(),
            "hter_se": grouped[hter_column].std(ddof=1) / counted**0.5,
            "auc_mean": grouped[auc_column].mean(),
            "auc_se": grouped[auc_column].std(ddof=1) / grouped[auc_column].count() ** 0.5,
        }
    ).reset_index()
    per_protocol = per_protocol[per_protocol["n_seeds"] > 0]
    kinds = {name: protocol_kind(name) for name in per_protocol["protocol"].unique()}
    per_protocol["protocol_kind"] = per_protocol["protocol"].map(kinds)

    runs = _Cells(records, hter_column, auc_column, scores or {}, n_resamples)
    rows = [{**row, **runs.intervals(row["method"], [row["protocol"]])} for row in per_protocol.to_dict("records")]
    averages = [
        {**_average(method, kind, of_method, n_protocols=of_kind["protocol"].nunique()),
         **runs.intervals(method, of_kind["protocol"].unique().tolist())}
        for kind, of_kind in per_protocol.groupby("protocol_kind", sort=True) if kind not in KINDS_WITHOUT_AVERAGE
        for method, of_method in of_kind.groupby("method", sort=True)
    ]
    table = pd.DataFrame(rows + averages)
    kind_rank = {kind: position for position, kind in enumerate(KIND_ORDER)}
    protocols = [*protocol_order(per_protocol["protocol"]), AVERAGE]
    protocol_rank = {name: position for position, name in enumerate(protocols)}
    table = table.assign(
        _kind=table["protocol_kind"].map(kind_rank), _rank=table["protocol"].map(protocol_rank)
    ).sort_values(["method", "_kind", "_rank"], kind="stable")
    return table.drop(columns=["_kind", "_rank"]).reset_index(drop=True)[list(AGGREGATED_COLUMNS)]


def _average(method: str, kind: str, rows: pd.DataFrame, *, n_protocols: int) -> dict[str, object]:
    complete = len(rows) == n_protocols
    k = len(rows)
    row: dict[str, object] = {
        "method": method, "protocol_kind": kind, "protocol": AVERAGE, "n_seeds": int(rows["n_seeds"].min())
    }
    for metric in ("hter", "auc"):
        row[f"{metric}_mean"] = rows[f"{metric}_mean"].mean() if complete else math.nan
        # A single-seed protocol has no SE, so neither has the average.
        row[f"{metric}_se"] = (rows[f"{metric}_se"] ** 2).sum(min_count=k) ** 0.5 / k if complete else math.nan
    return row


class _Cells:
    """The runs behind each cell, turned into its interval columns."""

    def __init__(self, records: pd.DataFrame, hter_column: str, auc_column: str, scores: dict[str, RunScores],
                 n_resamples: int) -> None:
        self.hter_column, self.auc_column, self.scores, self.n_resamples = hter_column, auc_column, scores, n_resamples
        counted = records[records[hter_column].notna()]
        self.runs = {key: rows.sort_values("seed") for key, rows in counted.groupby(["method", "protocol"])}
        self.protocols_of = counted.groupby("method")["protocol"].agg(set).to_dict()
        self.code_hash = (  # one per method once stale runs are filtered; several are all named
            counted.groupby("method")["code_hash"].agg(lambda hashes: " ".join(sorted(set(hashes.dropna().astype(str)))))
            if "code_hash" in counted.columns else pd.Series(dtype=str)
        )
        self._checked: set[str] = set()

    def _scores_of(self, runs: pd.DataFrame) -> list[RunScores] | None:
        """The runs' scores, each checked against its record; None when one lacks them."""
        if "run_id" not in runs.columns or not all(run_id in self.scores for run_id in runs["run_id"]):
            return None
        found = []
        for run in runs.to_dict("records"):
            run_scores = self.scores[run["run_id"]]
            if run["run_id"] not in self._checked:
                values = intervals.observed(run_scores)
                for metric, column in (("hter", self.hter_column), ("auc", self.auc_column)):
                    value = values[metric]
                    if not math.isclose(value, run[column], abs_tol=1e-6):
                        raise DgfasError(
                            f"run {run['run_id']} ({run['method']} {run['protocol']} seed {run['seed']}): its score "
                            f"file gives {column} = {value:.6f}, its record {run[column]:.6f}; the file is not this "
                            "run's"
                        )
                self._checked.add(run["run_id"])
            found.append(run_scores)
        return found

    def intervals(self, method: str, protocols: list[str]) -> dict[str, object]:
        """Interval, paired difference to the baseline and unit columns of ``method`` over ``protocols``
        (one protocol: its cell; several: their average, NaN unless the method ran them all)."""
        row: dict[str, object] = dict.fromkeys(_INTERVAL_COLUMNS, math.nan)
        row["interval_unit"] = ""
        row["code_hash"] = self.code_hash.get(method, "")
        if not set(protocols) <= self.protocols_of.get(method, set()):
            return row
        cells = [self.runs[(method, protocol)] for protocol in protocols]
        found = [self._scores_of(runs) for runs in cells]
        if all(scores is not None for scores in found):
            estimates = intervals.estimate([[Term(run) for run in of_protocol] for of_protocol in found],
                                           n_resamples=self.n_resamples)
            for metric in ("hter", "auc"):
                row[f"{metric}_lo"], row[f"{metric}_hi"] = estimates[metric].low, estimates[metric].high
            kinds = {run.unit_kind for of_protocol in found for run in of_protocol}
            row["interval_unit"] = intervals.VIDEO if intervals.VIDEO in kinds else intervals.SUBJECT
        if method != BASELINE and set(protocols) <= self.protocols_of.get(BASELINE, set()):
            row.update(self._difference(cells, [self.runs[(BASELINE, protocol)] for protocol in protocols]))
        return row

    def _difference(self, cells: list[pd.DataFrame], baselines: list[pd.DataFrame]) -> dict[str, float]:
        """HTER minus the baseline's over the seeds both ran, per protocol, averaged over protocols."""
        common = [set(cell["seed"]) & set(baseline["seed"]) for cell, baseline in zip(cells, baselines)]
        if not all(common):
            return {}
        # one run per seed, sorted by seed: the rows of a pair line up
        paired = [(cell[cell["seed"].isin(seeds)], baseline[baseline["seed"].isin(seeds)])
                  for cell, baseline, seeds in zip(cells, baselines, common)]
        value = np.mean([(cell[self.hter_column].to_numpy() - baseline[self.hter_column].to_numpy()).mean()
                         for cell, baseline in paired])
        row = {"hter_delta_erm": float(value)}
        terms = []
        for cell, baseline in paired:
            method_scores, baseline_scores = self._scores_of(cell), self._scores_of(baseline)
            if method_scores is None or baseline_scores is None:
                return row
            terms.append([Term(run, base) for run, base in zip(method_scores, baseline_scores)])
        difference = intervals.estimate(terms, ("hter",), n_resamples=self.n_resamples)["hter"]
        row["hter_delta_erm_lo"], row["hter_delta_erm_hi"] = difference.low, difference.high
        return row


def literature_table(records: pd.DataFrame, info: HeaderInfo, *, level: str = "video",
                     artifacts: ArtifactFetcher | None = None) -> pd.DataFrame | None:
    """``aggregate`` under :data:`LITERATURE_RULES`, with intervals from the oracle checkpoints' score
    files where ``artifacts`` has them; None when the board already uses these rules, or when no run
    logged what the oracle selection would have picked (runs made before that was logged)."""
    selection_rule, threshold_rule = LITERATURE_RULES
    if (info.selection_rule, info.threshold_rule) == LITERATURE_RULES:
        return None
    prefix = "" if info.selection_rule == selection_rule else selection_prefix(selection_rule)
    if prefix + metric_name("target_test", level, "hter", threshold_rule) not in records.columns:
        return None
    scores = None if artifacts is None else load_run_scores(
        records, artifacts, level=level, threshold_rule=threshold_rule, selection_rule=selection_rule)
    return aggregate(records, level=level, threshold_rule=threshold_rule, selection_rule=selection_rule,
                     scores=scores)
