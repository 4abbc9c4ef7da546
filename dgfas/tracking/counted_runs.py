"""The runs a leaderboard counts: run records read and filtered to one current run per cell, and their scores.

* :func:`read_records_csv` reads records saved as CSV (the committed test
  fixture), in the shape of ``stored_runs.load_run_records``;
* :func:`is_current` keeps the runs of the code and protocol files as they are
  now (their code hash), :func:`check_one_protocol_file_per_name` refuses a
  protocol name that stands for two files, :func:`variants_of` keeps one
  method's variants;
* :func:`chosen_runs` keeps one run per (method, protocol, seed): the most
  recent, or a sweep's draw chosen by a draw rule (:mod:`dgfas.tracking.draws`);
* :func:`load_run_scores` fetches the runs' target-test score files, which the
  cells' intervals resample.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Callable

import pandas as pd

from dgfas.errors import DgfasError
from dgfas.metric_names import metric_name, score_file, selection_prefix, table_name
from dgfas.protocols import PROTOCOLS, get_protocol, same_name_conflict, without_fold
from dgfas.scores import read_scores
from dgfas.selection import get_selection_rule
from dgfas.tracking.intervals import RunScores

RUN_IDENTITY = ["method", "protocol", "seed"]
"""The columns naming a run's cell and seed: a board counts one run of each."""

STALE = " (stale)"
"""Suffix of a row of runs whose code or protocol file is not the current one (``include_stale``)."""

#: (method, backbone) -> the code hash of a run of them with the code as it is now.
CodeHashes = Callable[[str, "str | None"], "str | None"]


def read_records_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Run records saved as CSV (the committed test fixture), in the shape of ``load_run_records``."""
    try:
        records = pd.read_csv(path, dtype={"method": str, "protocol": str, "seed": int})
    except FileNotFoundError:
        raise DgfasError(f"records file not found: {path}") from None
    except (pd.errors.ParserError, ValueError) as error:
        raise DgfasError(f"{path}: unreadable run records ({error})") from None
    missing = [column for column in RUN_IDENTITY if column not in records.columns]
    if missing:
        raise DgfasError(f"{path}: missing record columns {missing}")
    return records


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
    return newest_last.drop_duplicates(RUN_IDENTITY, keep="last").sort_index()


def variants_of(records: pd.DataFrame, method: str) -> pd.DataFrame:
    """Records of ``method`` itself and of its variants, named ``<method>[key=value,...]``.

    The bracket keeps ``erm`` from also matching a method named ``erm_v2``.
    """
    names = records["method"].astype(str)
    return records[(names == method) | names.str.startswith(f"{method}[")]


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


def normal_runs(records: pd.DataFrame) -> pd.DataFrame:
    """Records without leave-one-source-domain-out runs, which only serve to choose draws, never as cells."""
    return records[records["holdout_source"].isna()] if "holdout_source" in records.columns else records


def marked_stale(records: pd.DataFrame) -> pd.DataFrame:
    """``records`` renamed to rows of their own, ``<method> (stale)``, apart from the current runs' rows."""
    return records.assign(method=records["method"].astype(str) + STALE)


def chosen_runs(records: pd.DataFrame, draw_rule: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(the runs a board shows, one per cell; those the literature table shows, or None to show the same).

    A sweep's draws are chosen per cell by ``draw_rule`` (the literature table's
    by ``oracle``), other runs by :func:`one_run_per_cell`.
    """
    normal = normal_runs(records)
    if draws_in(normal):
        return with_chosen_draws(records, draw_rule), with_chosen_draws(records, "oracle")
    if "start_time" in normal.columns:
        return one_run_per_cell(normal), None
    return normal, None


ArtifactFetcher = Callable[[str, list[str], Path], dict[str, Path]]
"""``(run_id, names, dst_dir) -> {name: path}`` for the artifacts a run has, as
``stored_runs.download_artifacts`` gives them."""


def artifacts_in_folder(root: str | os.PathLike[str]) -> ArtifactFetcher:
    """Artifacts kept as ``<root>/<run_id>/<name>`` (a fixture's score files), in the shape of
    ``stored_runs.download_artifacts``."""

    def fetch(run_id: str, names: list[str], dst_dir: Path) -> dict[str, Path]:
        found = {name: Path(root) / run_id / name for name in names}
        return {name: path for name, path in found.items() if path.is_file()}

    return fetch


def metric_prefix(records: pd.DataFrame, selection_rule: str | None) -> str:
    """"" for the runs' own checkpoint, ``selection.<rule>.`` for the one another rule picks."""
    if selection_rule is None:
        return ""
    get_selection_rule(selection_rule)
    own_rules = set(records["selection_rule"].astype(str)) if "selection_rule" in records else set()
    return "" if own_rules == {selection_rule} else selection_prefix(selection_rule)


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
    prefix = metric_prefix(records, selection_rule)
    name = score_file(prefix + table_name("target_test", level))
    threshold_column = prefix + metric_name("target_test", level, "threshold", "dev_eer")
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
