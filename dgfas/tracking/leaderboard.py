"""Leaderboards in three separate steps: load run records, aggregate over seeds, render.

* load: ``mlflow_store.load_run_records(suite)`` (or ``read_records_csv`` for a fixture)
  gives one row per finished run with its final metrics, ``load_run_scores`` the
  target-test score files of those runs;
* aggregate: ``aggregate(records, scores=...)`` gives, per method and protocol, the
  mean over seeds of HTER and AUC with a 95% interval over test subjects and seeds
  (:mod:`dgfas.tracking.intervals`) and the paired HTER difference to ``erm``, plus
  an "Average" over the protocols of each protocol kind (leave-one-out,
  limited-source, cross-test);
* render: ``render_markdown`` / ``render_csv`` turn that into text: one computed table
  per protocol kind, each followed by the numbers reported in papers for that kind,
  set apart in their own table.

An average never mixes kinds: a cross-test trains on one domain and a leave-one-out
protocol on three, so their HTERs measure different things.

Rendering is deterministic (no dates, fixed kind, protocol and row order) so a
golden-file test can compare whole files.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from dgfas.atomic import atomic_write_text
from dgfas.errors import DgfasError
from dgfas.paths import shipped_data_dir
from dgfas.presets import PRESETS
from dgfas.protocols import (
    PROTOCOL_KINDS,
    PROTOCOL_ORDER,
    PROTOCOLS,
    get_protocol,
    same_name_conflict,
    without_fold,
)
from dgfas.scores import LEVELS, read_scores
from dgfas.selection import get_selection_rule, get_threshold_rule
from dgfas.tracking import intervals
from dgfas.tracking.intervals import RunScores, Term
from dgfas.tracking.intra import intra_lines, intra_summary, read_printed, read_reported_intra, reported_intra_lines
from dgfas.tracking.row_setup import setup_lines

REPORTED_CSV = shipped_data_dir("leaderboards") / "reported.csv"
"""Numbers printed in papers, one row per (method, protocol), in percent."""

AVERAGE = "Average"
"""Protocol name of the per-method average over one kind's protocols in an aggregated table."""

KINDS_WITHOUT_AVERAGE = ("intra",)
"""Protocol kinds whose tables have no Average column: an intra protocol is one corpus's own test (OULU-NPU P1
tests unseen sessions, P3 an unseen phone, fold by fold), so a mean over them, in which P3's and P4's six folds
outweigh P1 and P2, answers no question; the papers print each protocol on its own."""

OTHER_KIND = "other"
"""Kind of a protocol run from a file outside protocols/: the run records do not carry its kind."""

KIND_ORDER = (*PROTOCOL_KINDS, OTHER_KIND)
"""Order of the per-kind tables: leave-one-out, leave-one-out-5, limited-source, cross-test, intra, other."""

OWN_BOARD_KINDS = ("intra",)
"""Protocol kinds written to a board of their own (``<stem>-<kind>.md``): an intra-dataset table answers a
different question (one corpus's own test) from the cross-domain ones and is read beside other papers' rows."""

_INTERVAL_COLUMNS = ("hter_lo", "hter_hi", "auc_lo", "auc_hi", "hter_delta_erm", "hter_delta_erm_lo",
                     "hter_delta_erm_hi")
AGGREGATED_COLUMNS = (
    "method", "protocol_kind", "protocol", "n_seeds", "hter_mean", "hter_se", "auc_mean", "auc_se",
    *_INTERVAL_COLUMNS, "interval_unit", "code_hash",
)
"""``*_lo``/``*_hi``: 95% interval bounds; ``hter_delta_erm``: HTER minus ``erm``'s over the seeds
both ran; ``interval_unit``: what the bootstrap resampled (``subject``, ``video``, "" for none)."""
REPORTED_COLUMNS = ("method", "venue", "protocol", "hter", "auc", "source")

_RUN_IDENTITY = ["method", "protocol", "seed"]
_MISSING = "–"


@dataclass(frozen=True)
class HeaderInfo:
    """The choices behind a leaderboard's numbers, printed above its tables.

    Attributes:
        data_source: Where the data came from ("synthetic" or "real").
        preset: Training preset of the suite ("tiny", "quick", "paper").
        selection_rule: Model-selection rule name (dgfas.selection).
        threshold_rule: Threshold rule name whose HTER is shown ("dev_eer", "oracle_eer").
        level: "video" or "frame" scores.
        draws: Random hyper-parameter draws of the sweep behind the board (0: the defaults only).
        draw_rule: How one draw was chosen per method, protocol and seed (``dgfas.tracking.draws``).
        code_hashes: The code hash of each method shown (``dgfas.code_identity``), as
            "method hash, ..."; empty when the records do not carry code hashes.
        torch_versions: The torch versions the runs shown were computed with.
        devices: The CPUs and GPUs the runs shown were computed on.
        stale_runs: Finished runs of older code or protocol files: shown as ``(stale)`` rows
            when ``include_stale``, otherwise left out and counted.
        include_stale: Whether stale runs are shown.
    """

    data_source: str
    preset: str
    selection_rule: str
    threshold_rule: str
    level: str
    draws: int = 0
    draw_rule: str = ""
    code_hashes: str = ""
    torch_versions: str = ""
    devices: str = ""
    stale_runs: int = 0
    include_stale: bool = False

    @property
    def uses_target_labels(self) -> bool:
        """True when the selection or threshold rule is an oracle, which tables must say."""
        return (
            get_selection_rule(self.selection_rule).uses_target_labels
            or get_threshold_rule(self.threshold_rule).uses_target_labels
        )


def read_records_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Run records saved as CSV (the committed test fixture), in the shape of ``load_run_records``."""
    try:
        records = pd.read_csv(path, dtype={"method": str, "protocol": str, "seed": int})
    except FileNotFoundError:
        raise DgfasError(f"records file not found: {path}") from None
    except (pd.errors.ParserError, ValueError) as error:
        raise DgfasError(f"{path}: unreadable run records ({error})") from None
    missing = [column for column in _RUN_IDENTITY if column not in records.columns]
    if missing:
        raise DgfasError(f"{path}: missing record columns {missing}")
    return records


def read_reported(path: str | os.PathLike[str] = REPORTED_CSV) -> pd.DataFrame:
    """Numbers reported in papers, kept as the strings printed there.

    Strings, not floats, so a table shows "23.6" where the paper printed 23.6 and
    does not claim a precision the paper never gave.
    """
    return read_printed(path, REPORTED_COLUMNS, "reported-results")


STALE = " (stale)"
"""Suffix of a row of runs whose code or protocol file is not the current one (``include_stale``)."""

#: (method, backbone) -> the code hash of a run of them with the code as it is now.
CodeHashes = Callable[[str, "str | None"], "str | None"]


def current_code_hash(method: str, model: str | None) -> str | None:
    """The code hash a run of ``method`` on backbone ``model`` would have now.

    A name that is no registered method is a score submission's
    (:mod:`dgfas.submission`), whose numbers the scoring code computed. None
    when the backbone is no longer registered: no run of it is current.
    """
    from dgfas.algorithms import ALGORITHMS
    from dgfas.code_identity import code_hash, submission_code_hash
    from dgfas.models import MODELS

    if method not in ALGORITHMS:
        return submission_code_hash()
    if model is not None and model not in MODELS:
        return None
    return code_hash(method, model)


def is_current(records: pd.DataFrame, code_hashes: CodeHashes = current_code_hash) -> pd.Series:
    """Which runs the current code computed, on the current content of their protocol file.

    A run is current when its ``code_hash`` equals the hash ``code_hashes`` gives
    for its method (the row name up to ``[``) and backbone (``model``), and, for a
    built-in protocol, its ``protocol_hash`` is that of the file in ``protocols/``
    now. Runs logged without a code hash (before dgfas logged one) are not.
    Hashes are computed once per (method, backbone) and protocol.
    """
    method = records["method"].astype(str).str.split("[", n=1).str[0]
    model = records["algorithm.model"] if "algorithm.model" in records.columns else pd.Series(None, index=records.index, dtype=object)
    keys = list(zip(method, model.where(model.notna(), None)))
    now = {key: code_hashes(*key) for key in dict.fromkeys(keys)}
    current = pd.Series([now[key] for key in keys], index=records.index)
    if "code_hash" not in records.columns:  # logged before dgfas logged code hashes
        return pd.Series(False, index=records.index)
    code_ok = records["code_hash"].notna() & (records["code_hash"] == current)
    if "protocol_hash" not in records.columns:
        return code_ok
    # a fold's runs (OULU-P3@2) are of its protocol's file
    builtin = {name: get_protocol(without_fold(name)).content_hash for name in records["protocol"].unique()
               if without_fold(name) in PROTOCOLS}
    expected = records["protocol"].map(builtin)
    return code_ok & (expected.isna() | (records["protocol_hash"] == expected))


def check_one_protocol_file_per_name(records: pd.DataFrame) -> None:
    """Refuse records in which one protocol name stands for files of different content.

    Their runs would fill the same cells although they ran different
    protocols; the error names both files (tag ``dgfas.protocol_file``).
    """
    if "protocol_hash" not in records.columns:
        return
    logged = records.dropna(subset=["protocol_hash"]).drop_duplicates(["protocol", "protocol_hash"])
    for name, of_name in logged.groupby("protocol", sort=True):
        if len(of_name) > 1:
            first, second = of_name.iloc[0], of_name.iloc[1]
            raise same_name_conflict(name, (str(first.get("protocol_file")), first["protocol_hash"]),
                                     (str(second.get("protocol_file")), second["protocol_hash"]))


def one_run_per_cell(records: pd.DataFrame) -> pd.DataFrame:
    """One run of each (method, protocol, seed): the most recently started.

    Called on current runs only (:func:`is_current`), whose keys include the
    code, so that runs of one cell differ only in what the row name does not
    say: the data (a cache built anew), the device or precision, or the same
    job finished twice. The most recent is the one of the data and machine the
    suite was last run with; counting several would inflate n.
    """
    newest_last = records.sort_values("start_time", kind="stable")
    return newest_last.drop_duplicates(_RUN_IDENTITY, keep="last").sort_index()


def _distinct(records: pd.DataFrame, column: str) -> str:
    if column not in records.columns:
        return ""
    values = sorted(records[column].fillna("not recorded").astype(str).unique())
    return "; ".join(values)


def _code_hashes(records: pd.DataFrame) -> str:
    """Each method's code hash, as ``erm b45c...``; a method run on several backbones is named per backbone,
    ``pyramid (cdcn) 040...``, as ``dgfas --version`` names them, since the backbone's files are hashed too."""
    if "code_hash" not in records.columns:
        return ""
    method = records["method"].astype(str).str.split("[", n=1).str[0]
    backbone = (records["algorithm.model"].fillna("").astype(str) if "algorithm.model" in records.columns
                else pd.Series("", index=records.index))
    backbones = backbone.groupby(method).nunique()
    names = [f"{name} ({model})" if backbones[name] > 1 and model else name for name, model in zip(method, backbone)]
    pairs = sorted(set(zip(names, records["code_hash"].fillna("not recorded").astype(str))))
    return ", ".join(f"{name} {value}" for name, value in pairs)


def header_info(
    records: pd.DataFrame,
    *,
    threshold_rule: str = "dev_eer",
    level: str = "video",
) -> HeaderInfo:
    """The header of a leaderboard over ``records``, which must share one data source,
    preset and selection rule (a table mixing them would compare unlike runs)."""
    single = {}
    for column in ("data_source", "preset", "selection_rule"):
        values = sorted(records[column].astype(str).unique())
        if len(values) != 1:
            raise DgfasError(f"run records must share one {column} for a leaderboard; got {values}")
        single[column] = values[0]
    current = records[~records["method"].astype(str).str.endswith(STALE)]
    return HeaderInfo(threshold_rule=threshold_rule, level=level, code_hashes=_code_hashes(current),
                      torch_versions=_distinct(records, "torch_version"), devices=_distinct(records, "device_name"),
                      **single)


def protocol_order(protocols: list[str] | pd.Series) -> list[str]:
    """Protocols in canonical order (leave-one-out, limited-source, cross-test), others after."""
    present = set(protocols) - {AVERAGE}
    canonical = [name for name in PROTOCOL_ORDER if name in present]
    return canonical + sorted(present - set(canonical))


def protocol_kind(name: str) -> str:
    """The ``kind`` of a protocol in ``protocols/``, or ``OTHER_KIND`` for any other name."""
    try:
        return get_protocol(name).kind
    except DgfasError:
        # A protocol run from a file outside protocols/: the records hold its name only.
        return OTHER_KIND


def kind_order(kinds: list[str] | pd.Series) -> list[str]:
    """The kinds present, in table order (``KIND_ORDER``)."""
    present = set(kinds)
    return [kind for kind in KIND_ORDER if kind in present]


def variants_of(records: pd.DataFrame, method: str) -> pd.DataFrame:
    """Records of ``method`` itself and of its variants, named ``<method>[key=value,...]``.

    The bracket keeps ``erm`` from also matching a method named ``erm_v2``.
    """
    names = records["method"].astype(str)
    return records[(names == method) | names.str.startswith(f"{method}[")]


def _protocol_title(name: str) -> str:
    if name == AVERAGE:
        return AVERAGE
    try:
        return get_protocol(name).title
    except DgfasError:
        # A protocol run from a file outside protocols/ has no registered title.
        return name


def _kind_title(kind: str) -> str:
    if kind == OTHER_KIND:
        return "Other protocols (files outside protocols/, kind unknown)"
    return f"{kind[0].upper()}{kind[1:]} protocols"


#: The rules most DG-FAS papers report with: checkpoint and threshold both chosen on the target test split.
LITERATURE_RULES = ("oracle", "oracle_eer")

BASELINE = "erm"
"""The method every row's paired difference is taken to."""

ArtifactFetcher = Callable[[str, list[str], Path], dict[str, Path]]
"""``(run_id, names, dst_dir) -> {name: path}`` for the artifacts a run has, as
``mlflow_store.download_artifacts`` gives them."""


def artifacts_in_folder(root: str | os.PathLike[str]) -> ArtifactFetcher:
    """Artifacts kept as ``<root>/<run_id>/<name>`` (a fixture's score files), in the shape of
    ``mlflow_store.download_artifacts``."""

    def fetch(run_id: str, names: list[str], dst_dir: Path) -> dict[str, Path]:
        found = {name: Path(root) / run_id / name for name in names}
        return {name: path for name, path in found.items() if path.is_file()}

    return fetch


def _metric_prefix(records: pd.DataFrame, selection_rule: str | None) -> str:
    """"" for the runs' own checkpoint, ``selection.<rule>.`` for the one another rule picks."""
    if selection_rule is None:
        return ""
    get_selection_rule(selection_rule)
    own_rules = set(records["selection_rule"].astype(str)) if "selection_rule" in records else set()
    return "" if own_rules == {selection_rule} else f"selection.{selection_rule}."


def load_run_scores(
    records: pd.DataFrame,
    artifacts: ArtifactFetcher,
    *,
    level: str = "video",
    threshold_rule: str = "dev_eer",
    selection_rule: str | None = None,
) -> dict[str, RunScores]:
    """The target-test scores of each run in ``records``, by run id, for the cells' intervals.

    The score file is ``target_test.<level>.csv`` of the run's own checkpoint, or
    ``selection.<rule>.target_test.video.csv`` of the checkpoint ``selection_rule``
    picks; the ``dev_eer`` threshold is the one the run logged. A run without
    its file (logged before dgfas kept it) or threshold is left out, and its
    cells get no interval.
    """
    if "run_id" not in records.columns:
        return {}
    prefix = _metric_prefix(records, selection_rule)
    name = f"{prefix}target_test.{level}.csv"
    threshold_column = f"{prefix}target_test.{level}.threshold.dev_eer"
    scores = {}
    with tempfile.TemporaryDirectory(prefix="dgfas-scores-") as work:
        for index, run in enumerate(records.to_dict("records")):
            threshold = None
            if threshold_rule == "dev_eer":
                threshold = run.get(threshold_column, math.nan)
                if pd.isna(threshold):
                    continue
            files = artifacts(str(run["run_id"]), [name], Path(work) / str(index))
            if name in files:
                table = read_scores(files[name], optional=("subject",))  # what the intervals resample by
                scores[str(run["run_id"])] = RunScores.from_table(table, threshold)
    return scores


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
    prefix = _metric_prefix(records, selection_rule)
    hter_column = f"{prefix}target_test.{level}.hter.{threshold_rule}"
    auc_column = f"{prefix}target_test.{level}.auc"
    for column in (hter_column, auc_column):
        if column not in records.columns:
            available = sorted(name for name in records.columns if name.startswith("target_test."))
            raise DgfasError(f"run records have no metric '{column}'; available: {available}")
    if records.empty:
        raise DgfasError("no finished runs to aggregate")
    duplicated = records.duplicated(_RUN_IDENTITY, keep=False)
    if duplicated.any():
        first = records.loc[duplicated, _RUN_IDENTITY].iloc[0].tolist()
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


def _reported_present(reported: pd.DataFrame, protocols: list[str]) -> pd.DataFrame:
    """Reported rows of the given protocols, in the file's order."""
    return reported[reported["protocol"].isin(protocols)]


def _method_order(of_kind: pd.DataFrame) -> list[str]:
    """Methods of one kind's table ranked by its average HTER (best first); those without an
    average last, by name; all by name in a kind without averages (:data:`KINDS_WITHOUT_AVERAGE`)."""
    averages = of_kind[of_kind["protocol"] == AVERAGE].copy()
    if averages.empty:
        return sorted(of_kind["method"].unique())
    averages["_missing"] = averages["hter_mean"].isna()
    ranked = averages.sort_values(["_missing", "hter_mean", "method"], kind="stable")
    return ranked["method"].tolist()


def _pct(cell: pd.Series, metric: str) -> str:
    """``31.70 [26.0, 37.5]`` with an interval, else ``31.70 ± 1.20`` (seeds only), or ``31.70`` for one seed."""
    mean, se, low, high = (cell[f"{metric}_{part}"] for part in ("mean", "se", "lo", "hi"))
    if math.isnan(mean):
        return _MISSING
    if not (math.isnan(low) or math.isnan(high)):
        return f"{100 * mean:.2f} [{100 * low:.1f}, {100 * high:.1f}]"
    if math.isnan(se):
        return f"{100 * mean:.2f}"
    return f"{100 * mean:.2f} ± {100 * se:.2f}"


_ZERO = 1e-9  # a bound within float rounding of 0 does not exclude it


def _difference(cell: pd.Series) -> str:
    """``+4.00 [1.5, 6.5] *``: HTER points over erm, its interval, * when that excludes 0."""
    value, low, high = cell["hter_delta_erm"], cell["hter_delta_erm_lo"], cell["hter_delta_erm_hi"]
    if math.isnan(value):
        return _MISSING
    if math.isnan(low) or math.isnan(high):
        return _signed(value, 2)
    excludes_zero = low > _ZERO or high < -_ZERO
    return f"{_signed(value, 2)} [{_signed(low, 1)}, {_signed(high, 1)}]" + (" *" if excludes_zero else "")


def _signed(fraction: float, digits: int) -> str:
    """Percentage points with a sign; a value that rounds to zero reads +0.0, never -0.0."""
    return f"{round(100 * fraction, digits) + 0.0:+.{digits}f}"


def render_markdown(
    aggregated: pd.DataFrame,
    *,
    reported: pd.DataFrame,
    suite: str,
    header_info: HeaderInfo,
    records: pd.DataFrame,
    method: str | None = None,
    literature: pd.DataFrame | None = None,
    reported_intra: pd.DataFrame | None = None,
) -> str:
    """The leaderboard as Markdown: header block, then per protocol kind a computed table,
    the literature-compatible table and the reported table of that kind's protocols; the
    intra kind adds the papers' APCER / BPCER / ACER rows (:mod:`dgfas.tracking.intra`).

    Args:
        aggregated: Output of ``aggregate``.
        reported: Output of ``read_reported``; only rows of protocols present in
            ``aggregated`` are shown, each under its protocol's kind.
        suite: Suite (experiment) name, used in the title.
        header_info: The choices behind the numbers, printed in the header.
        records: The runs ``aggregated`` is over; the header states each row's backbone, width and
            initialization from them (``dgfas.tracking.row_setup``).
        method: When the board holds only one method's variants, that method, named
            in the title.
        literature: ``aggregate`` of the same runs under :data:`LITERATURE_RULES`
            (oracle checkpoint, target-EER threshold), shown under each computed
            table with the same row order, so the gap between the honest numbers
            and those papers print is in plain view; None shows no such table.
        reported_intra: :func:`dgfas.tracking.intra.read_reported_intra`, shown under the intra
            protocols run; None shows no papers' intra rows.

    Returns:
        Markdown text ending with a newline; no date, so equal inputs give equal text.
    """
    info = header_info
    oracle = info.uses_target_labels
    seeds = aggregated.loc[aggregated["protocol"] != AVERAGE, "n_seeds"]
    most_seeds = int(seeds.max())
    selection = get_selection_rule(info.selection_rule)
    threshold = get_threshold_rule(info.threshold_rule)
    kinds = kind_order(aggregated["protocol_kind"])
    protocols_of = {
        kind: protocol_order(aggregated.loc[aggregated["protocol_kind"] == kind, "protocol"]) for kind in kinds
    }
    reported_of = {kind: _reported_present(reported, protocols_of[kind]) for kind in kinds}

    title = f"# Leaderboard: {suite}" + (f", variants of `{method}`" if method else "")
    lines = [title, ""]
    if oracle:
        lines += [
            "**Oracle:** these numbers look at target-domain test labels "
            "(through the selection or threshold rule below); they are not an honest estimate "
            "of performance on an unseen domain.",
            "",
        ]
    seed_text = (
        f"{most_seeds}"
        if seeds.nunique() == 1
        else f"{int(seeds.min())}–{most_seeds} (a cell with fewer than {most_seeds} shows its n)"
    )
    lines += [
        f"- Data source: {info.data_source}",
        f"- Preset: {info.preset}{_purpose(info.preset)}",
        f"- Model selection: `{selection.name}` — {selection.description}",
        f"- Threshold rule: `{threshold.name}` — {threshold.description}",
        f"- Level: {info.level}",
        *_code_lines(info),
        f"- Seeds per cell: {seed_text}",
        *([f"- Hyper-parameters: per method, protocol and seed, the best of the defaults and {info.draws} random "
           f"draws by `{info.draw_rule}`"
           + (" (oracle: uses target test labels)" if info.draw_rule == "oracle" else "")
           + "; the literature-compatible table chooses its draws by `oracle`"] if info.draws else []),
        *_cell_lines(aggregated if literature is None else pd.concat([aggregated, literature])),
    ]
    lines += setup_lines(records)
    if any(not rows.empty for rows in reported_of.values()):
        lines.append(
            "- Reported in papers: numbers as printed in the cited sources (HTER % / AUC %). The authors "
            "measured them on the real datasets with their own model-selection and threshold rules, mostly "
            "oracle (the checkpoint and the EER threshold chosen on the target test split). They are not "
            f"directly comparable with the computed rows, which dgfas measured on {info.data_source} data "
            "with the rules above."
        )

    if literature is not None:
        lines.append(
            "- Literature-compatible: the same runs, with the checkpoint chosen on the target test split "
            "(`oracle` selection) and the threshold at the target test scores' own EER (`oracle_eer`), "
            "as most DG-FAS papers report. It looks at target labels: it is not an estimate of performance "
            "on an unseen domain, and the gap to the table above is what that costs."
        )

    oracle_mark = " (oracle)" if oracle else ""
    computed_heading = f"### Computed by dgfas on {info.data_source} data: HTER at the `{threshold.name}` threshold"
    if oracle:
        computed_heading += " (oracle: uses target test labels)"
    for kind in kinds:
        protocols = protocols_of[kind]
        columns = protocols if kind in KINDS_WITHOUT_AVERAGE else [*protocols, AVERAGE]
        of_kind = aggregated[aggregated["protocol_kind"] == kind]
        lines += ["", f"## {_kind_title(kind)}", "", computed_heading, ""]
        header = ["Method", *(f"{_protocol_title(name)}{oracle_mark}" for name in columns)]
        lines += [_row(header), _row(["---"] * len(header))]
        order = _method_order(of_kind)
        lines += _cell_rows(of_kind, order, columns, most_seeds)
        lines += _difference_table(of_kind, order, columns)
        if literature is not None:
            lines += ["", "### Literature-compatible (oracle): checkpoint and threshold chosen on the target test split",
                      ""]
            header = ["Method", *(f"{_protocol_title(name)} (oracle)" for name in columns)]
            lines += [_row(header), _row(["---"] * len(header))]
            lines += _cell_rows(literature[literature["protocol_kind"] == kind], order, columns, most_seeds)
        if kind == "intra":
            kinds_of = {name: protocol_kind(name) for name in records["protocol"].unique()}
            summary = intra_summary(records, kinds_of, level=info.level, threshold_rule=info.threshold_rule)
            titles = {name: _protocol_title(name) for name in summary["protocol"].unique()}
            lines += intra_lines(summary, titles, info.threshold_rule)
            if reported_intra is not None:
                lines += reported_intra_lines(reported_intra, list(titles), titles)
        lines += _reported_table(reported_of[kind], protocols)
    return "\n".join(lines) + "\n"


def _purpose(preset: str) -> str:
    """`` — what the preset's numbers are for`` (:attr:`Preset.purpose`); empty for a preset not registered here."""
    purpose = PRESETS.get(preset).purpose if preset in PRESETS else ""
    return f" — {purpose}" if purpose else ""


def _code_lines(info: HeaderInfo) -> list[str]:
    """Header lines naming the code, torch and processors behind the numbers; none for records without them."""
    lines = []
    if info.code_hashes:
        lines.append(f"- Code: only runs of the current code count (a hash per method of the files that train and "
                     f"score it, `dgfas.code_identity`): {info.code_hashes}; of several current runs of one cell "
                     "(the data or device changed between them), the most recent")
    if info.include_stale:
        lines.append(f"- Stale rows, marked `{STALE.strip()}`: {info.stale_runs} run(s) of older code or protocol "
                     "files, shown apart by request (`--include-stale`), the most recent per cell; they are not what "
                     "the current code computes")
    elif info.stale_runs:
        lines.append(f"- Not counted: {info.stale_runs} run(s) of older code or protocol files "
                     "(`dgfas leaderboard --include-stale` shows them)")
    if info.torch_versions:
        lines.append(f"- Computed with torch {info.torch_versions} on {info.devices}; another CPU or GPU rounds "
                     "differently, and at small presets that moves cells")
    return lines


def _cell_lines(cells: pd.DataFrame) -> list[str]:
    """Header lines saying what a cell's numbers are: intervals where the runs' scores were found."""
    shown = cells[cells["hter_mean"].notna()]
    with_interval = shown["hter_lo"].notna()
    standard_error = (
        "mean ± standard error over seeds (sample standard deviation / √n; no ± for one seed); an Average's "
        "standard error is √(Σ SE²) / k over its k protocols"
    )
    if not with_interval.any():
        return [f"- Cells: HTER % / AUC % on the target domain's test split, each {standard_error}. One table per "
                "protocol kind; its Average: the mean over the kind's protocols; – where a method lacks one of them."]
    lines = [
        "- Cells: HTER % / AUC % on the target domain's test split: the mean over seeds and, in brackets, a 95% "
        f"interval from a percentile bootstrap ({intervals.N_RESAMPLES} resamples, fixed seed) that resamples the "
        "split's test subjects (all videos of a subject together) and the seeds, independently. The `dev_eer` "
        "threshold stays each run's own; an `oracle_eer` threshold is found anew on every resample. A cell of one "
        "seed resamples subjects only. One table per protocol kind; its Average: the mean over the kind's "
        "protocols, each protocol's subjects and seeds resampled on their own; – where a method lacks one of them.",
    ]
    if not with_interval.all():
        lines.append(f"- A cell without brackets: its runs' score files are not in the store (runs logged before "
                     f"dgfas kept them), so it shows the {standard_error}.")
    if (shown["interval_unit"] == intervals.VIDEO).any():
        lines.append("- (by video): the runs' score files carry no subject id, so the bootstrap resamples videos, "
                     "which understates the test set's sampling error when a subject has several videos.")
    if shown["hter_delta_erm"].notna().any():
        lines.append(
            f"- Paired difference to `{BASELINE}`: a row's HTER minus {BASELINE}'s, in points, over the seeds both "
            "ran, with a 95% interval from resampling those seeds and the test subjects jointly for both rows; "
            "* marks an interval that excludes 0."
        )
    return lines


def _difference_table(of_kind: pd.DataFrame, methods: list[str], columns: list[str]) -> list[str]:
    """Markdown lines of the rows' paired HTER differences to the baseline; none without any."""
    others = [name for name in methods if name != BASELINE]
    if BASELINE not in methods or not others or of_kind["hter_delta_erm"].isna().all():
        return []
    cells = of_kind.set_index(["method", "protocol"])
    lines = ["", f"### Paired difference to `{BASELINE}`: HTER points, same seeds and test subjects", ""]
    header = ["Method", *(_protocol_title(name) for name in columns)]
    lines += [_row(header), _row(["---"] * len(header))]
    for method in others:
        lines.append(_row([method, *(_difference(cells.loc[(method, name)]) if (method, name) in cells.index
                                     else _MISSING for name in columns)]))
    return lines


def _cell_rows(of_kind: pd.DataFrame, methods: list[str], columns: list[str], most_seeds: int) -> list[str]:
    """Markdown rows "HTER / AUC" of ``methods`` over ``columns``; – where a cell is missing."""
    cells = of_kind.set_index(["method", "protocol"])
    lines = []
    for row_method in methods:
        row = [row_method]
        for name in columns:
            if (row_method, name) not in cells.index:
                row.append(_MISSING)
                continue
            cell = cells.loc[(row_method, name)]
            if math.isnan(cell["hter_mean"]) and math.isnan(cell["auc_mean"]):
                row.append(_MISSING)
                continue
            text = f"{_pct(cell, 'hter')} / {_pct(cell, 'auc')}"
            if cell["interval_unit"] == intervals.VIDEO:
                text += " (by video)"
            if name != AVERAGE and int(cell["n_seeds"]) < most_seeds:
                text += f" (n={int(cell['n_seeds'])})"
            row.append(text)
        lines.append(_row(row))
    return lines


def _reported_table(shown: pd.DataFrame, protocols: list[str]) -> list[str]:
    """Markdown lines of one kind's reported table; none when no reported row is shown."""
    if shown.empty:
        return []
    lines = [
        "",
        "### Reported in papers (mostly oracle): measured on the real datasets by the papers' authors, "
        "not comparable",
        "",
    ]
    reported_protocols = [name for name in protocols if name in set(shown["protocol"])]
    header = ["Method", *(_protocol_title(name) for name in reported_protocols), "Citation"]
    lines += [_row(header), _row(["---"] * len(header))]
    for (method, venue, source), rows in shown.groupby(["method", "venue", "source"], sort=False):
        by_protocol = rows.set_index("protocol")
        label = f"{method} ({venue}), reported" if venue else f"{method}, reported"
        row = [label]
        for name in reported_protocols:
            if name not in by_protocol.index:
                row.append(_MISSING)
                continue
            hter, auc = by_protocol.loc[name, "hter"], by_protocol.loc[name, "auc"]
            row.append(f"{hter or _MISSING} / {auc or _MISSING}")
        lines.append(_row([*row, source]))
    return lines


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


_CSV_INTERVAL_COLUMNS = ("hter_pct_lo", "hter_pct_hi", "auc_pct_lo", "auc_pct_hi", "hter_delta_erm",
                         "hter_delta_erm_lo", "hter_delta_erm_hi", "interval_unit", "code_hash")


def render_csv(
    aggregated: pd.DataFrame,
    *,
    reported: pd.DataFrame,
    suite: str,
    header_info: HeaderInfo,
    literature: pd.DataFrame | None = None,
) -> str:
    """The leaderboard as CSV: one row per (method, protocol), computed rows then reported rows.

    Values are percent, like the reported numbers, in columns ``hter_pct``,
    ``hter_pct_se``, ``auc_pct``, ``auc_pct_se``; computed values are rounded to 4
    decimals so the text is stable, reported ones kept as printed. ``kind`` is
    "computed" or "reported"; reported rows leave the rule columns blank (the papers'
    rules differ) and name their source. ``protocol_kind`` (after them, so the older
    columns keep their positions) is the protocol's kind; each method has one
    ``Average`` row per kind. Then, percent and empty where undefined: the 95%
    interval ``hter_pct_lo``, ``hter_pct_hi``, ``auc_pct_lo``, ``auc_pct_hi``, the
    paired difference to ``erm`` ``hter_delta_erm`` (points) with its interval
    ``hter_delta_erm_lo``, ``hter_delta_erm_hi``, the bootstrap's resampling unit
    ``interval_unit`` and the runs' ``code_hash``. Rows go kind by kind, methods ranked as in the Markdown
    table of their kind. Same arguments as ``render_markdown``; the ``literature``
    rows follow each computed row as "computed" rows of their own rules
    (``oracle`` / ``oracle_eer``).
    """
    info = header_info
    kinds = kind_order(aggregated["protocol_kind"])
    protocols = protocol_order(aggregated["protocol"])
    rank = {name: position for position, name in enumerate([*protocols, AVERAGE])}
    kind_rank = {kind: position for position, kind in enumerate(kinds)}
    method_rank = {
        (kind, name): position
        for kind in kinds
        for position, name in enumerate(_method_order(aggregated[aggregated["protocol_kind"] == kind]))
    }
    computed = aggregated.assign(
        _kind=aggregated["protocol_kind"].map(kind_rank),
        _method_rank=[method_rank[key] for key in zip(aggregated["protocol_kind"], aggregated["method"])],
        _rank=aggregated["protocol"].map(rank),
    ).sort_values(["_kind", "_method_rank", "_rank"], kind="stable")

    def number(value: float) -> str:
        return "" if math.isnan(value) else f"{100 * value:.4f}"

    def computed_row(row, selection_rule: str, threshold_rule: str) -> dict[str, str]:
        return {
            "suite": suite,
            "kind": "computed",
            "method": row.method,
            "venue": "",
            "protocol": row.protocol,
            "data_source": info.data_source,
            "preset": info.preset,
            "selection_rule": selection_rule,
            "threshold_rule": threshold_rule,
            "level": info.level,
            "n_seeds": str(int(row.n_seeds)),
            "hter_pct": number(row.hter_mean),
            "hter_pct_se": number(row.hter_se),
            "auc_pct": number(row.auc_mean),
            "auc_pct_se": number(row.auc_se),
            "source": "dgfas",
            "protocol_kind": row.protocol_kind,
            "hter_pct_lo": number(row.hter_lo),
            "hter_pct_hi": number(row.hter_hi),
            "auc_pct_lo": number(row.auc_lo),
            "auc_pct_hi": number(row.auc_hi),
            "hter_delta_erm": number(row.hter_delta_erm),
            "hter_delta_erm_lo": number(row.hter_delta_erm_lo),
            "hter_delta_erm_hi": number(row.hter_delta_erm_hi),
            "interval_unit": row.interval_unit,
            "code_hash": row.code_hash,
        }

    identity = ["method", "protocol_kind", "protocol"]
    oracle_cells = literature.set_index(identity) if literature is not None else None
    rows = []
    for row in computed.itertuples(index=False):
        rows.append(computed_row(row, info.selection_rule, info.threshold_rule))
        key = (row.method, row.protocol_kind, row.protocol)
        if oracle_cells is not None and key in oracle_cells.index:
            cell = pd.Series({**oracle_cells.loc[key].to_dict(), **dict(zip(identity, key))})
            rows.append(computed_row(cell, *LITERATURE_RULES))
    for kind in kinds:
        of_kind = protocol_order(aggregated.loc[aggregated["protocol_kind"] == kind, "protocol"])
        for row in _reported_present(reported, of_kind).itertuples(index=False):
            rows.append(
                {
                    "suite": suite,
                    "kind": "reported",
                    "method": row.method,
                    "venue": row.venue,
                    "protocol": row.protocol,
                    "data_source": "real",
                    "preset": "",
                    "selection_rule": "",
                    "threshold_rule": "",
                    "level": "",
                    "n_seeds": "",
                    "hter_pct": row.hter,
                    "hter_pct_se": "",
                    "auc_pct": row.auc,
                    "auc_pct_se": "",
                    "source": row.source,
                    "protocol_kind": kind,
                    **dict.fromkeys(_CSV_INTERVAL_COLUMNS, ""),
                }
            )
    return pd.DataFrame(rows).to_csv(index=False, lineterminator="\n")


def draws_in(records: pd.DataFrame) -> bool:
    """Whether the records hold a sweep's random hyper-parameter draws (draw 1 and up)."""
    return "hparam_draw" in records.columns and bool((records["hparam_draw"].fillna(0) > 0).any())


def with_chosen_draws(records: pd.DataFrame, rule: str) -> pd.DataFrame:
    """One run per (method, protocol, seed): the draw ``rule`` prefers, named after its method.

    Variants that are not draws (ablations such as ``basn[auxiliary=none]``)
    keep their own rows, one run per seed (:func:`one_run_per_cell`).
    """
    from dgfas.tracking.draws import choose_draws

    variant = records["method"].astype(str)
    normal = records["holdout_source"].isna() if "holdout_source" in records.columns else True
    not_draws = records[records["hparam_draw"].isna() & (variant != variant.str.split("[", n=1).str[0]) & normal]
    chosen = choose_draws(records, rule).drop(columns="variant")
    return pd.concat([chosen, one_run_per_cell(not_draws)], ignore_index=True)


def _normal(records: pd.DataFrame) -> pd.DataFrame:
    """Records without leave-one-source-domain-out runs, which only serve to choose draws, never as cells."""
    return records[records["holdout_source"].isna()] if "holdout_source" in records.columns else records


def _marked_stale(records: pd.DataFrame) -> pd.DataFrame:
    """``records`` renamed to rows of their own, ``<method> (stale)``, apart from the current runs' rows."""
    return records.assign(method=records["method"].astype(str) + STALE)


def _chosen_runs(records: pd.DataFrame, draw_rule: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(the runs a board shows, one per cell; those the literature table shows, or None to show the same).

    A sweep's draws are chosen per cell by ``draw_rule`` (the literature table's
    by ``oracle``), other runs by :func:`one_run_per_cell`.
    """
    normal = _normal(records)
    if draws_in(normal):
        return with_chosen_draws(records, draw_rule), with_chosen_draws(records, "oracle")
    if "start_time" in normal.columns:
        return one_run_per_cell(normal), None
    return normal, None


def literature_table(records: pd.DataFrame, info: HeaderInfo, *, level: str = "video",
                     artifacts: ArtifactFetcher | None = None) -> pd.DataFrame | None:
    """``aggregate`` under :data:`LITERATURE_RULES`, with intervals from the oracle checkpoints' score
    files where ``artifacts`` has them; None when the board already uses these rules, or when no run
    logged what the oracle selection would have picked (runs made before that was logged)."""
    selection_rule, threshold_rule = LITERATURE_RULES
    if (info.selection_rule, info.threshold_rule) == LITERATURE_RULES:
        return None
    prefix = "" if info.selection_rule == selection_rule else f"selection.{selection_rule}."
    if f"{prefix}target_test.{level}.hter.{threshold_rule}" not in records.columns:
        return None
    scores = None if artifacts is None else load_run_scores(
        records, artifacts, level=level, threshold_rule=threshold_rule, selection_rule=selection_rule)
    return aggregate(records, level=level, threshold_rule=threshold_rule, selection_rule=selection_rule,
                     scores=scores)


def write_leaderboard(
    suite: str,
    out_dir: str | os.PathLike[str] = "leaderboards",
    *,
    threshold_rule: str = "dev_eer",
    level: str = "video",
    selection_rule: str | None = None,
    method: str | None = None,
    records: pd.DataFrame | None = None,
    reported_path: str | os.PathLike[str] = REPORTED_CSV,
    html: bool = False,
    draw_rule: str | None = None,
    include_stale: bool = False,
    code_hashes: CodeHashes | None = None,
    artifacts: ArtifactFetcher | None = None,
) -> tuple[Path, ...]:
    """Load, aggregate and render a suite's leaderboard to ``<out_dir>/<stem>.md`` and ``.csv``.

    The stem is the suite name, with ``-<threshold_rule>``, ``-<level>`` and
    ``-<selection_rule>`` appended when they differ from the defaults, and
    ``-<method>`` for one method's variants, so an oracle table or an ablation
    never overwrites the main board. Runs of a kind in :data:`OWN_BOARD_KINDS`
    (intra-dataset protocols) go to a board of their own, ``<stem>-<kind>``,
    unless the board is one method's variants. Files are written atomically
    (temporary file, then rename).

    Args:
        suite: Suite (MLflow experiment) name, e.g. "synthetic-quick".
        out_dir: Folder of the output files; created if missing.
        threshold_rule: "dev_eer" (honest) or "oracle_eer" (what DG-FAS papers report).
        level: "video" or "frame".
        selection_rule: Keep only runs with this model-selection rule; needed when
            the suite holds runs of several rules.
        method: Keep only this method and its variants (``<method>[...]``): the
            board of an ablation. It has no reported table: the papers' rows are
            named after papers ("BASN"), not after dgfas variants.
        records: Run records to use instead of loading them from MLflow.
        reported_path: CSV of numbers reported in papers.
        html: Also write ``<stem>.html``, the tables with ROC curves and predicted
            maps from the runs' artifacts (``dgfas.tracking.html``).
        draw_rule: How a sweep's hyper-parameter draws are chosen per cell
            (``dgfas.tracking.draws.DRAW_RULES``: ``source_val``, ``loso``,
            ``oracle``); None: ``source_val``, or ``oracle`` on an oracle board.
        include_stale: Also show the runs that are not current (:func:`is_current`:
            older code or protocol files), as rows named ``<method> (stale)``.
        code_hashes: The current code hash of a (method, backbone): runs of another are stale. None:
            :func:`current_code_hash` for records loaded from the store; records passed in (a
            fixture) are then taken as they are.
        artifacts: Where the runs' score files are, for the cells' intervals
            (:func:`artifacts_in_folder` for a fixture); None: the MLflow store's
            when ``records`` is None, no intervals for records passed in.

    Returns:
        Per board written (the cross-domain one first), the paths of its Markdown and CSV files, then of its
        HTML page when ``html``.
    """
    if records is None:
        from dgfas.tracking.mlflow_store import download_artifacts, load_run_records

        records = load_run_records(suite)
        artifacts = artifacts or download_artifacts
        code_hashes = code_hashes or current_code_hash
    if selection_rule is not None:
        get_selection_rule(selection_rule)
        records = records[records["selection_rule"] == selection_rule]
    kept = f" with selection rule '{selection_rule}'" if selection_rule else ""
    if method is not None:
        with_runs = sorted({name.split("[", 1)[0] for name in records["method"].astype(str)})
        records = variants_of(records, method)
        if records.empty:
            raise DgfasError(
                f"suite '{suite}' has no finished runs of method '{method}'{kept}; methods with runs: {with_runs}"
            )
    if records.empty:
        raise DgfasError(f"suite '{suite}' has no finished runs{kept}")
    stale = records.iloc[:0]
    if code_hashes is not None:  # records loaded from a store, or a test's; a fixture's are taken as they are
        current = is_current(records, code_hashes)
        records, stale = records[current], records[~current]
        if records.empty and not include_stale:
            raise DgfasError(f"suite '{suite}'{kept} has no finished runs of the current code, only {len(stale)} "
                             f"of older code or protocol files (--include-stale shows them)")
    check_one_protocol_file_per_name(records)
    stem = suite
    if threshold_rule != "dev_eer":
        stem += f"-{threshold_rule}"
    if level != "video":
        stem += f"-{level}"
    if selection_rule not in (None, "source_val"):
        stem += f"-{selection_rule}"
    if method is not None:
        stem += f"-{method}"
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DgfasError(f"cannot write leaderboards to {out}: it is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DgfasError(f"cannot write leaderboards to {out}: {error.strerror or error}") from None
    paths: list[Path] = []
    for suffix, current, older in _boards(records, stale, one_method=method is not None):
        if current.empty and not include_stale:
            continue
        paths += _write_board(out / f"{stem}{suffix}", current, older, suite=suite, threshold_rule=threshold_rule,
                              level=level, method=method, reported_path=reported_path, html=html,
                              draw_rule=draw_rule, include_stale=include_stale, artifacts=artifacts)
    return tuple(paths)


def _boards(records: pd.DataFrame, stale: pd.DataFrame, *,
            one_method: bool) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """The boards a suite's runs are written to, as (stem suffix, current runs, stale runs), cross-domain first."""
    if one_method:
        return [("", records, stale)]

    def of_kind(runs: pd.DataFrame, kind: str | None) -> pd.DataFrame:
        kinds = runs["protocol"].map(protocol_kind)
        return runs[~kinds.isin(OWN_BOARD_KINDS)] if kind is None else runs[kinds == kind]

    boards = [("", of_kind(records, None), of_kind(stale, None))]
    boards += [(f"-{kind}", of_kind(records, kind), of_kind(stale, kind)) for kind in OWN_BOARD_KINDS]
    return [board for board in boards if not (board[1].empty and board[2].empty)]


def _write_board(
    stem: Path,
    records: pd.DataFrame,
    stale: pd.DataFrame,
    *,
    suite: str,
    threshold_rule: str,
    level: str,
    method: str | None,
    reported_path: str | os.PathLike[str],
    html: bool,
    draw_rule: str | None,
    include_stale: bool,
    artifacts: ArtifactFetcher | None,
) -> tuple[Path, ...]:
    """Aggregate and render one board's runs to ``<stem>.md`` and ``.csv`` (and ``.html``); see :func:`write_leaderboard`."""
    stale_runs = len(_normal(stale))
    candidates = _normal(pd.concat([records, stale]) if include_stale else records)
    info = header_info(candidates, threshold_rule=threshold_rule, level=level)
    rule = draw_rule or ("oracle" if get_selection_rule(info.selection_rule).uses_target_labels else "source_val")
    records, oracle_draws = _chosen_runs(records, rule)
    if include_stale and not stale.empty:
        # chosen apart from the current runs, then renamed, so a stale draw never competes with a current one
        stale, stale_oracle_draws = (None if chosen is None else _marked_stale(chosen)
                                     for chosen in _chosen_runs(stale, rule))
        if oracle_draws is not None or stale_oracle_draws is not None:
            oracle_draws = pd.concat([records if oracle_draws is None else oracle_draws,
                                      stale if stale_oracle_draws is None else stale_oracle_draws], ignore_index=True)
        records = pd.concat([records, stale], ignore_index=True)
    shown = _normal(records)
    info = dataclasses.replace(
        header_info(shown, threshold_rule=threshold_rule, level=level),
        stale_runs=stale_runs, include_stale=include_stale,
    )
    if draws_in(candidates):
        info = dataclasses.replace(info, draws=int(candidates["hparam_draw"].max()), draw_rule=rule)
    scores = None if artifacts is None else load_run_scores(records, artifacts, level=level,
                                                            threshold_rule=threshold_rule)
    aggregated = aggregate(records, level=level, threshold_rule=threshold_rule, scores=scores)
    literature = literature_table(records if oracle_draws is None else oracle_draws, info, level=level,
                                  artifacts=artifacts)
    reported = read_reported(reported_path)
    if method is not None:
        reported = reported.iloc[:0]

    markdown_path, csv_path = stem.with_name(f"{stem.name}.md"), stem.with_name(f"{stem.name}.csv")
    markdown = render_markdown(aggregated, reported=reported, suite=suite, header_info=info, records=records,
                               method=method, literature=literature,
                               reported_intra=read_reported_intra(method=method))
    atomic_write_text(markdown_path, markdown)
    atomic_write_text(csv_path, render_csv(aggregated, reported=reported, suite=suite, header_info=info,
                                           literature=literature))
    if not html:
        return markdown_path, csv_path
    from dgfas.tracking.html import write_html

    return markdown_path, csv_path, write_html(stem.with_name(f"{stem.name}.html"), markdown, records, level=level)
