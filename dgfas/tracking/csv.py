"""Render an aggregated leaderboard as CSV: one row per (method, protocol), ours then the papers'."""

from __future__ import annotations

import math

import pandas as pd

from dgfas.tracking.aggregation import LITERATURE_RULES
from dgfas.tracking.header import HeaderInfo
from dgfas.tracking.reported import reported_present
from dgfas.tracking.table_order import AVERAGE, kind_order, method_order, protocol_order

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
        for position, name in enumerate(method_order(aggregated[aggregated["protocol_kind"] == kind]))
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
        for row in reported_present(reported, of_kind).itertuples(index=False):
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
