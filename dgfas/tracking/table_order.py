"""The order of a leaderboard's tables, columns and rows: protocol kinds, protocols, methods.

Aggregation sorts its rows by it and the Markdown, CSV and HTML renderings lay
out their tables by it, so all of them list kinds, protocols and methods alike.
A protocol's kind and the canonical order of protocols come from the protocol
files in ``protocols/`` (:func:`dgfas.protocols.protocol_names`).
"""

from __future__ import annotations

import pandas as pd

from dgfas.errors import DgfasError
from dgfas.protocols import PROTOCOL_KINDS, get_protocol, protocol_names

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


def protocol_order(protocols: list[str] | pd.Series) -> list[str]:
    """Protocols in canonical order (leave-one-out, limited-source, cross-test), others after."""
    present = set(protocols) - {AVERAGE}
    canonical = [name for name in protocol_names() if name in present]
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


def method_order(of_kind: pd.DataFrame) -> list[str]:
    """Methods of one kind's table ranked by its average HTER (best first); those without an
    average last, by name; all by name in a kind without averages (:data:`KINDS_WITHOUT_AVERAGE`)."""
    averages = of_kind[of_kind["protocol"] == AVERAGE].copy()
    if averages.empty:
        return sorted(of_kind["method"].unique())
    averages["_missing"] = averages["hter_mean"].isna()
    ranked = averages.sort_values(["_missing", "hter_mean", "method"], kind="stable")
    return ranked["method"].tolist()
