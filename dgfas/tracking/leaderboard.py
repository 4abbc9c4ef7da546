"""Write a suite's leaderboards: load its runs, aggregate them, render them, in three separate steps.

* load: ``stored_runs.load_run_records(suite)`` (or ``records.read_records_csv``
  for a fixture) gives one row per finished run with its final metrics;
  :mod:`dgfas.tracking.counted_runs` keeps the current runs, one per cell, and
  fetches their target-test score files;
* aggregate: :func:`dgfas.tracking.aggregation.aggregate` gives, per method and
  protocol, the mean over seeds with 95% intervals and the paired difference to
  ``erm``, plus an "Average" per protocol kind;
* render: :mod:`dgfas.tracking.markdown` and :mod:`dgfas.tracking.csv` turn that
  into text, one computed table per protocol kind, each followed by the numbers
  reported in papers for that kind (:mod:`dgfas.tracking.reported`);
  :mod:`dgfas.tracking.html` into one page.

This module chooses the boards a suite's runs go to and writes their files.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pandas as pd

from dgfas.atomic import atomic_write_text
from dgfas.errors import DgfasError
from dgfas.selection import get_selection_rule
from dgfas.tracking.aggregation import aggregate, literature_table
from dgfas.tracking.csv import render_csv
from dgfas.tracking.header import header_info
from dgfas.tracking.html import write_html
from dgfas.tracking.intra import read_reported_intra
from dgfas.tracking.markdown import render_markdown
from dgfas.tracking.counted_runs import (
    ArtifactFetcher,
    CodeHashes,
    check_one_protocol_file_per_name,
    chosen_runs,
    current_code_hash,
    draws_in,
    is_current,
    load_run_scores,
    marked_stale,
    normal_runs,
    variants_of,
)
from dgfas.tracking.reported import REPORTED_CSV, read_reported
from dgfas.tracking.table_order import protocol_kind

OWN_BOARD_KINDS = ("intra",)
"""Protocol kinds written to a board of their own (``<stem>-<kind>.md``): an intra-dataset table answers a
different question (one corpus's own test) from the cross-domain ones and is read beside other papers' rows."""


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
            (:func:`dgfas.tracking.counted_runs.artifacts_in_folder` for a fixture); None: the MLflow store's
            when ``records`` is None, no intervals for records passed in.

    Returns:
        Per board written (the cross-domain one first), the paths of its Markdown and CSV files, then of its
        HTML page when ``html``.
    """
    if records is None:
        from dgfas.tracking.stored_runs import download_artifacts, load_run_records

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
    stale_runs = len(normal_runs(stale))
    candidates = normal_runs(pd.concat([records, stale]) if include_stale else records)
    info = header_info(candidates, threshold_rule=threshold_rule, level=level)
    rule = draw_rule or ("oracle" if get_selection_rule(info.selection_rule).uses_target_labels else "source_val")
    records, oracle_draws = chosen_runs(records, rule)
    if include_stale and not stale.empty:
        # chosen apart from the current runs, then renamed, so a stale draw never competes with a current one
        stale, stale_oracle_draws = (None if chosen is None else marked_stale(chosen)
                                     for chosen in chosen_runs(stale, rule))
        if oracle_draws is not None or stale_oracle_draws is not None:
            oracle_draws = pd.concat([records if oracle_draws is None else oracle_draws,
                                      stale if stale_oracle_draws is None else stale_oracle_draws], ignore_index=True)
        records = pd.concat([records, stale], ignore_index=True)
    shown = normal_runs(records)
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
    return markdown_path, csv_path, write_html(stem.with_name(f"{stem.name}.html"), markdown, records, level=level)
