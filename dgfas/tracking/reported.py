"""Numbers printed in papers, read as printed and shown beside the computed rows of the protocols a board has."""

from __future__ import annotations

import os

import pandas as pd

from dgfas.paths import shipped_data_dir
from dgfas.tracking.intra import read_printed

REPORTED_CSV = shipped_data_dir("leaderboards") / "reported.csv"
"""Numbers printed in papers, one row per (method, protocol), in percent."""

REPORTED_COLUMNS = ("method", "venue", "protocol", "hter", "auc", "source")


def read_reported(path: str | os.PathLike[str] = REPORTED_CSV) -> pd.DataFrame:
    """Numbers reported in papers, kept as the strings printed there.

    Strings, not floats, so a table shows "23.6" where the paper printed 23.6 and
    does not claim a precision the paper never gave.
    """
    return read_printed(path, REPORTED_COLUMNS, "reported-results")


def reported_present(reported: pd.DataFrame, protocols: list[str]) -> pd.DataFrame:
    """Reported rows of the given protocols, in the file's order."""
    return reported[reported["protocol"].isin(protocols)]
