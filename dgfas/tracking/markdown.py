"""Render an aggregated leaderboard as Markdown: the header, then per protocol kind our tables and the papers' rows.

Rendering is deterministic (no dates, fixed kind, protocol and row order) so a
golden-file test can compare whole files.
"""

from __future__ import annotations

import math

import pandas as pd

from dgfas.errors import DgfasError
from dgfas.presets import PRESETS
from dgfas.protocols import get_protocol
from dgfas.selection import get_selection_rule, get_threshold_rule
from dgfas.tracking import intervals
from dgfas.tracking.aggregation import BASELINE
from dgfas.tracking.header import HeaderInfo
from dgfas.tracking.intra import intra_lines, intra_summary, reported_intra_lines
from dgfas.tracking.counted_runs import STALE
from dgfas.tracking.reported import reported_present
from dgfas.tracking.row_setup import setup_lines
from dgfas.tracking.table_order import (
    AVERAGE,
    KINDS_WITHOUT_AVERAGE,
    OTHER_KIND,
    kind_order,
    method_order,
    protocol_kind,
    protocol_order,
)

_MISSING = "–"


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
        literature: ``aggregate`` of the same runs under :data:`dgfas.tracking.aggregation.LITERATURE_RULES`
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
    reported_of = {kind: reported_present(reported, protocols_of[kind]) for kind in kinds}

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
        order = method_order(of_kind)
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
