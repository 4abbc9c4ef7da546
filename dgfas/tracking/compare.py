"""Check a reproduction: this store's leaderboard against a committed or published table, cell by cell.

Two runs of the benchmark on different machines (CPU kernels round differently)
or a paper's printed numbers never agree exactly; what can be checked is
whether each difference lies inside what the two tables' own uncertainty
allows. Per cell (method, protocol and rules) and metric the comparison gives
both numbers, their difference and a combined 95% half-width: with intervals
on both sides sqrt(a² + b²) of the half-widths (each half of its interval's
width; the sides are independent measurements), else the one side's that has
one; a difference within it is "inside".

The other table is either a leaderboard CSV (``render_csv``; one written before
intervals carries only a seed standard error ``*_pct_se``, taken as the
half-width 1.96·SE over seeds, which leaves the test set's error out) or
``leaderboards/reported.csv`` (papers' numbers, no interval, no rules: compared
with this store's literature-compatible rows, as papers mostly use those
rules; method names match case-insensitively).
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd

from dgfas.errors import DgfasError
from dgfas.tracking.intra import read_text_csv
from dgfas.tracking.aggregation import LITERATURE_RULES
from dgfas.tracking.reported import REPORTED_COLUMNS

METRICS = ("hter", "auc")
_CELL = ["method", "protocol", "protocol_kind", "selection_rule", "threshold_rule", "level"]
"""What names a cell (a kind's Average is one per kind); a table lacking a column leaves it ""."""
_Z95 = 1.959963984540054  # normal quantile of a two-sided 95% interval


def _numbers(table: pd.DataFrame, column: str, path: str) -> pd.Series:
    """Percent values of ``column``, NaN where empty; a non-number is a one-line error."""
    if column not in table.columns:
        return pd.Series(np.nan, index=table.index)
    text = table[column].astype(str).str.strip()
    values = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = values.isna() & (text != "") & (text.str.lower() != "nan")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DgfasError(f"{path}: column '{column}' has a non-number {text.iloc[row]!r} in data row {row + 1}")
    return values


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A leaderboard CSV or ``reported.csv`` as one row per cell.

    Returns:
        Columns ``_CELL`` (rules and level "" where the table has none), then per
        metric its value and the half-width of its 95% interval (percent, NaN
        where absent), ``{metric}_basis`` saying where the half-width came from,
        and ``kind``: "leaderboard" or "reported".
    """
    table = read_text_csv(path, "table to compare with")
    if tuple(table.columns) == REPORTED_COLUMNS:
        cells = pd.DataFrame({"method": table["method"], "protocol": table["protocol"]})
        for column in _CELL[2:]:
            cells[column] = ""
        for metric in METRICS:
            cells[metric] = _numbers(table, metric, str(path))
            cells[f"{metric}_half"] = np.nan
            cells[f"{metric}_basis"] = ""
        return cells.assign(kind="reported")
    required = ["kind", "method", "protocol", "hter_pct", "auc_pct"]
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise DgfasError(f"{path}: neither a leaderboard CSV (missing columns {missing}) nor a reported-results "
                         f"file (columns {list(REPORTED_COLUMNS)})")
    computed = table[table["kind"] == "computed"].reset_index(drop=True)
    cells = computed[["method", "protocol"]].copy()
    for column in _CELL[2:]:
        cells[column] = computed[column] if column in computed.columns else ""
    for metric in METRICS:
        cells[metric] = _numbers(computed, f"{metric}_pct", str(path))
        low, high = _numbers(computed, f"{metric}_pct_lo", str(path)), _numbers(computed, f"{metric}_pct_hi", str(path))
        se_half = _Z95 * _numbers(computed, f"{metric}_pct_se", str(path))
        interval = (high - low) / 2
        cells[f"{metric}_half"] = interval.where(interval.notna(), se_half)
        cells[f"{metric}_basis"] = np.where(interval.notna(), "95% interval",
                                            np.where(se_half.notna(), "1.96·SE over seeds", ""))
    return cells.assign(kind="leaderboard")


def compare(ours: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Cells of both tables side by side (``read_table`` of each).

    A reported table is matched to this store's literature-compatible rows
    (its papers mostly chose checkpoint and threshold on the target test
    split) by method name, case-insensitively.

    Returns:
        One row per matched cell and metric: ``method``, ``protocol``, rules,
        ``metric``, ``ours``, ``other``, ``difference`` (ours - other),
        ``half_width`` (combined, NaN when neither has an interval), ``basis``
        and ``inside`` (|difference| <= half_width; None without a half-width).
    """
    ours = ours[ours["method"] != ""]
    if (other["kind"] == "reported").all():
        selection, threshold = LITERATURE_RULES
        literature = ours[(ours["selection_rule"] == selection) & (ours["threshold_rule"] == threshold)]
        ours = literature.assign(_key=literature["method"].str.lower())
        other = other.drop(columns=_CELL[2:]).assign(_key=other["method"].str.lower()).drop(columns="method")
        keys = ["_key", "protocol"]
    else:
        keys = [column for column in _CELL if (other[column] != "").any()]
    matched = ours.merge(other, on=keys, suffixes=("", "_other"))
    rows = []
    for cell in matched.to_dict("records"):
        for metric in METRICS:
            mine, theirs = cell[metric], cell[f"{metric}_other"]
            if math.isnan(mine) or math.isnan(theirs):
                continue
            halves = {"ours": cell[f"{metric}_half"], "other": cell[f"{metric}_half_other"]}
            present = {side: value for side, value in halves.items() if not math.isnan(value)}
            half = math.sqrt(sum(value**2 for value in present.values())) if present else math.nan
            basis = " + ".join(f"{side}: {cell[f'{metric}_basis' + ('' if side == 'ours' else '_other')]}"
                               for side in present) or "no interval"
            rows.append({
                **{column: cell[column] for column in _CELL},
                "metric": metric, "ours": mine, "other": theirs, "difference": mine - theirs,
                "half_width": half, "basis": basis, "inside": None if math.isnan(half) else abs(mine - theirs) <= half,
            })
    columns = [*_CELL, "metric", "ours", "other", "difference", "half_width", "basis", "inside"]
    return pd.DataFrame(rows, columns=columns)


def format_comparison(compared: pd.DataFrame, ours: str, other: str) -> str:
    """The comparison as aligned text, one line per cell and metric, and a count at the end."""
    if compared.empty:
        return f"no cell of {ours} is in {other}: nothing to compare\n"
    shown = compared.assign(
        rules=compared["selection_rule"] + "/" + compared["threshold_rule"],
        ours=compared["ours"].map("{:.2f}".format),
        other=compared["other"].map("{:.2f}".format),
        difference=compared["difference"].map("{:+.2f}".format),
        half_width=compared["half_width"].map(lambda value: "–" if math.isnan(value) else f"±{value:.2f}"),
        inside=compared["inside"].map({True: "inside", False: "OUTSIDE", None: "no interval"}),
    )
    columns = ["method", "protocol", "protocol_kind", "rules", "metric", "ours", "other", "difference", "half_width",
               "inside", "basis"]
    text = shown[columns].rename(columns={"ours": "this store", "other": "other table", "half_width": "combined 95%"})
    judged = compared["inside"].dropna()
    summary = (
        f"{int(judged.sum())} of {len(judged)} differences lie inside the combined 95% half-width "
        f"(sqrt(a² + b²) of the two tables' half-widths, or the one side's); "
        f"{len(compared) - len(judged)} without any interval. Percent; this store: {ours}; other table: {other}."
    )
    return text.to_string(index=False) + "\n" + summary + "\n"
