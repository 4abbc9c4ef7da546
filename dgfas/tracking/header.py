"""The header of a leaderboard: the choices behind its numbers, read off the runs it shows.

Data source, preset and selection rule must be one for all runs (a table mixing
them would compare unlike runs); the code hashes, torch versions and devices
are listed as the runs logged them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dgfas.errors import DgfasError
from dgfas.selection import get_selection_rule, get_threshold_rule
from dgfas.tracking.counted_runs import STALE


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
