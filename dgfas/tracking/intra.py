"""Intra-dataset protocols as the field reports them: APCER, BPCER and ACER, folds as mean ± std.

The papers that use a corpus's own protocols (OULU-NPU 1-4: Boulkenafet et
al., FG 2017; SiW 1-3: Liu et al., CVPR 2018; BASN, Auxiliary and pyramid
supervision) print ISO/IEC 30107-3
rates at the threshold fixed on the development split, APCER being the worst
attack type's, and for a protocol with folds the mean and standard deviation
over its folds. Each run already logs those rates (``target_test.<level>.
apcer.<rule>`` and so on, :func:`dgfas.metrics.compute_metrics`); the
``dev_eer`` rule is the dev role's EER threshold. This module aggregates
them: per fold the mean over seeds, then over folds the mean and the sample
standard deviation (``ddof=1``, as the papers' ± over six folds is read).
"""

from __future__ import annotations

import os
import re

import pandas as pd

from dgfas.errors import DgfasError
from dgfas.metric_names import metric_name
from dgfas.paths import shipped_data_dir
from dgfas.protocols import PROTOCOLS, get_protocol, without_fold
from dgfas.tracking.run_contract import INTRA_METRICS

#: APCER / BPCER / ACER (%) papers print for the intra protocols, as printed (``±`` over folds).
REPORTED_INTRA_CSV = shipped_data_dir("leaderboards") / "reported-intra.csv"
REPORTED_INTRA_COLUMNS = ("method", "protocol", *INTRA_METRICS, "source")

#: A printed rate: ``1.6``, ``2.7±1.3`` (mean ± std over folds), or ``–`` where the source prints none
#: (BASN's SiW table gives ACER only).
PRINTED_RATE = re.compile(r"\d+(\.\d+)?(±\d+(\.\d+)?)?|–")


def intra_summary(records: pd.DataFrame, kinds: dict[str, str], *, level: str = "video",
                  threshold_rule: str = "dev_eer") -> pd.DataFrame:
    """Per method and intra protocol: folds, seeds, and each of :data:`INTRA_METRICS` as mean and std over folds.

    Args:
        records: run records (``method``, ``protocol``, ``seed`` and the metric columns).
        kinds: protocol run name -> kind; only ``intra`` runs are summarised.
        level: ``video`` or ``frame``.
        threshold_rule: whose threshold's rates to summarise.

    Returns:
        Columns ``method``, ``protocol`` (without its fold), ``n_folds`` (folds run; 0 for a protocol
        without folds), ``folds_of`` (the folds the protocol file has, 0 where there are none or the
        file is not in ``protocols/``), ``n_seeds`` (the fewest of any fold), and ``<metric>_mean`` /
        ``<metric>_std`` per metric as fractions; the std is NaN with fewer than two folds. Sorted by
        protocol, then method. Empty when no run is of an intra protocol or none logged the rates.
    """
    columns = {name: metric_name("target_test", level, name, threshold_rule) for name in INTRA_METRICS}
    intra = records[records["protocol"].map(kinds) == "intra"]
    if intra.empty or any(column not in intra.columns for column in columns.values()):
        return pd.DataFrame(columns=["method", "protocol", "n_folds", "folds_of", "n_seeds",
                                     *(f"{m}_{s}" for m in INTRA_METRICS for s in ("mean", "std"))])
    base = intra["protocol"].map(without_fold)
    named = intra.assign(base=base, fold=[name[len(b) + 1:] for name, b in zip(intra["protocol"], base)])
    per_fold = named.groupby(["method", "base", "fold"], sort=True).agg(
        n_seeds=("seed", "nunique"), **{name: (column, "mean") for name, column in columns.items()}).reset_index()
    grouped = per_fold.groupby(["base", "method"], sort=True)
    summary = grouped.agg(n_folds=("fold", lambda folds: int((folds != "").sum())), n_seeds=("n_seeds", "min"),
                          **{f"{name}_mean": (name, "mean") for name in INTRA_METRICS},
                          **{f"{name}_std": (name, "std") for name in INTRA_METRICS}).reset_index()
    summary.insert(3, "folds_of", summary["base"].map(_folds_of))
    return summary.rename(columns={"base": "protocol"})[
        ["method", "protocol", *(c for c in summary.columns if c not in ("method", "base"))]]


def _folds_of(protocol: str) -> int:
    """The folds a built-in protocol file has (0 for none, or for a file outside ``protocols/``)."""
    return len(get_protocol(protocol).folds) if protocol in PROTOCOLS else 0


def intra_lines(summary: pd.DataFrame, titles: dict[str, str], threshold_rule: str) -> list[str]:
    """The Markdown of :func:`intra_summary`: one row per protocol and method, as the papers' tables print it."""
    if summary.empty:
        return []
    lines = ["", f"### ISO/IEC 30107-3 rates at the `{threshold_rule}` threshold (%): "
                 "APCER of the worst attack type; folds as mean ± std over folds of the seeds' mean", "",
             "| Protocol | Method | Folds | Seeds | APCER | BPCER | ACER |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in summary.itertuples(index=False):
        cells = []
        for name in INTRA_METRICS:
            mean, std = 100 * getattr(row, f"{name}_mean"), 100 * getattr(row, f"{name}_std")
            cells.append(f"{mean:.1f}" if pd.isna(std) else f"{mean:.1f} ± {std:.1f}")
        # a fold protocol shows how many of its folds ran, so a cell over some folds never passes for all
        folds = "–" if not row.n_folds else f"{row.n_folds} of {row.folds_of}" if row.folds_of else str(row.n_folds)
        lines.append(f"| {titles.get(row.protocol, row.protocol)} | {row.method} | {folds} | {row.n_seeds} "
                     f"| {' | '.join(cells)} |")
    return lines


def read_text_csv(path: str | os.PathLike[str], what: str) -> pd.DataFrame:
    """A CSV with every field a string (numbers as printed, never re-rounded); a bad file is one line naming ``what``."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise DgfasError(f"{what} file not found: {path}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DgfasError(f"{path}: not a readable CSV ({str(error).strip().splitlines()[-1]})") from None


def read_printed(path: str | os.PathLike[str], columns: tuple[str, ...], what: str) -> pd.DataFrame:
    """A CSV of numbers printed in papers, every field a string (as printed), with exactly ``columns``.

    Raises:
        DgfasError: the file is missing or unreadable, or its columns differ; the message names ``what``.
    """
    printed = read_text_csv(path, what)
    if tuple(printed.columns) != columns:
        raise DgfasError(f"{path}: columns must be {list(columns)}, got {list(printed.columns)}")
    return printed


def read_reported_intra(path: str | os.PathLike[str] = REPORTED_INTRA_CSV, method: str | None = None) -> pd.DataFrame:
    """The papers' intra rows, kept as the strings printed there (``1.8±1.1``), never re-rounded.

    Rows are keyed by protocol run name (``OULU-P3``; SiW's as ``SiW-P1`` ... ``SiW-P3``) and are
    shown only beside runs of that protocol. One method may have rows from several sources (the
    ``source`` column names each), so a table re-typeset elsewhere sits beside the paper's own.

    With ``method`` (a board of one method's variants), only the rows named after it: those whose
    first word is the method's name in any case (``basn``: ``BASN`` and its ablation's ``BASN Model A
    (depth)``, ...), so BASN's Table 1 sits beside dgfas's ``basn[auxiliary=...]`` rows.

    Raises:
        DgfasError: the file is missing, unreadable or has other columns, or a rate is not printed as
            :data:`PRINTED_RATE` reads it; the message names the row.
    """
    reported = read_printed(path, REPORTED_INTRA_COLUMNS, "reported intra results")
    for number, row in enumerate(reported.itertuples(index=False), start=1):
        for name in INTRA_METRICS:
            value = getattr(row, name)
            if not PRINTED_RATE.fullmatch(value):
                raise DgfasError(f"{path}: row {number} ({row.method}, {row.protocol}): {name} {value[:40]!r} is not "
                                 "a printed rate such as 1.6 or 2.7±1.3 (– where the source prints none)")
    if method is not None:
        reported = reported[reported["method"].str.split().str[0].str.lower() == method.lower()]
    return reported


def reported_intra_lines(reported: pd.DataFrame, protocols: list[str], titles: dict[str, str]) -> list[str]:
    """The papers' rows of ``protocols``, in the file's order, marked as reported on the real corpus."""
    shown = reported[reported["protocol"].isin(protocols)]
    if shown.empty:
        return []
    lines = ["", "### Reported in papers (real corpus, as printed; not comparable with the rows above): "
                 "APCER / BPCER / ACER %", "",
             "| Protocol | Method | APCER | BPCER | ACER | Source |", "| --- | --- | --- | --- | --- | --- |"]
    for protocol in protocols:
        for row in shown[shown["protocol"] == protocol].itertuples(index=False):
            lines.append(f"| {titles.get(protocol, protocol)} | {row.method} | {row.apcer} | {row.bpcer} | {row.acer} "
                         f"| {row.source} |")
    return lines
