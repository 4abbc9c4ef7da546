"""Leaderboards in three separate steps: load run records, aggregate over seeds, render.

* load: ``mlflow_store.load_run_records(suite)`` (or ``read_records_csv`` for a fixture)
  gives one row per finished run with its final metrics;
* aggregate: ``aggregate(records)`` gives, per method and protocol, the mean and
  standard error over seeds of HTER and AUC, plus an "Average" over protocols;
* render: ``render_markdown`` / ``render_csv`` turn that into text, with the numbers
  reported in papers set apart in their own table.

Rendering is deterministic (no dates, fixed protocol order, fixed row order) so a
golden-file test can compare whole files.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dgfas.atomic import atomic_write_text
from dgfas.errors import DgfasError
from dgfas.protocols import PROTOCOL_ORDER, get_protocol
from dgfas.scores import LEVELS
from dgfas.selection import get_selection_rule, get_threshold_rule

REPORTED_CSV = Path(__file__).resolve().parents[2] / "leaderboards" / "reported.csv"
"""Numbers printed in papers, one row per (method, protocol), in percent."""

AVERAGE = "Average"
"""Protocol name of the per-method average over protocols in an aggregated table."""

AGGREGATED_COLUMNS = ("method", "protocol", "n_seeds", "hter_mean", "hter_se", "auc_mean", "auc_se")
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
    """

    data_source: str
    preset: str
    selection_rule: str
    threshold_rule: str
    level: str

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
    try:
        reported = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise DgfasError(f"reported-results file not found: {path}") from None
    except pd.errors.ParserError as error:
        raise DgfasError(f"{path}: unreadable CSV ({error})") from None
    if tuple(reported.columns) != REPORTED_COLUMNS:
        raise DgfasError(f"{path}: columns must be {list(REPORTED_COLUMNS)}, got {list(reported.columns)}")
    return reported


def latest_per_seed(records: pd.DataFrame) -> pd.DataFrame:
    """Keep the newest finished run of each (method, protocol, seed).

    A run is repeated when its arguments change (new code, new hyper-parameters);
    the newest one reflects the current code, and counting both would inflate n.
    """
    newest_last = records.sort_values("start_time", kind="stable")
    return newest_last.drop_duplicates(_RUN_IDENTITY, keep="last").sort_index()


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
    return HeaderInfo(threshold_rule=threshold_rule, level=level, **single)


def protocol_order(protocols: list[str] | pd.Series) -> list[str]:
    """Protocols in canonical order (leave-one-out, limited-source, cross-test), others after."""
    present = set(protocols) - {AVERAGE}
    canonical = [name for name in PROTOCOL_ORDER if name in present]
    return canonical + sorted(present - set(canonical))


def _protocol_title(name: str) -> str:
    if name == AVERAGE:
        return AVERAGE
    try:
        return get_protocol(name).title
    except DgfasError:
        # A protocol run from a file outside protocols/ has no registered title.
        return name


def aggregate(records: pd.DataFrame, *, level: str = "video", threshold_rule: str = "dev_eer") -> pd.DataFrame:
    """Mean and standard error over seeds of target-test HTER and AUC, per method and protocol.

    The standard error is the sample standard deviation over seeds / sqrt(n), NaN for
    a single seed. Each method also gets an ``AVERAGE`` row: the mean over protocols of
    the per-protocol means, with standard error sqrt(sum of squared SEs) / k (protocols
    are trained independently). The average is NaN when the method lacks a protocol
    that another method has, since an average over fewer protocols is not comparable;
    its ``n_seeds`` is the smallest n among its protocols.

    Args:
        records: One row per run with ``method``, ``protocol``, ``seed`` and the metric
            columns ``target_test.{level}.hter.{threshold_rule}`` and ``target_test.{level}.auc``.
        level: "video" or "frame".
        threshold_rule: Which threshold's HTER to aggregate.

    Returns:
        Columns ``AGGREGATED_COLUMNS``; values are fractions in [0, 1], rows sorted by
        method, then protocol in canonical order with ``AVERAGE`` last.
    """
    if level not in LEVELS:
        raise DgfasError(f"unknown level '{level}'; valid: {list(LEVELS)}")
    get_threshold_rule(threshold_rule)
    hter_column = f"target_test.{level}.hter.{threshold_rule}"
    auc_column = f"target_test.{level}.auc"
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
    per_protocol = pd.DataFrame(
        {
            "n_seeds": grouped["seed"].count(),
            "hter_mean": grouped[hter_column].mean(),
            "hter_se": grouped[hter_column].std(ddof=1) / grouped["seed"].count() ** 0.5,
            "auc_mean": grouped[auc_column].mean(),
            "auc_se": grouped[auc_column].std(ddof=1) / grouped["seed"].count() ** 0.5,
        }
    ).reset_index()

    order = protocol_order(per_protocol["protocol"])
    averages = [_average(method, rows, len(order)) for method, rows in per_protocol.groupby("method", sort=True)]
    table = pd.concat([per_protocol, pd.DataFrame(averages)], ignore_index=True)
    rank = {name: position for position, name in enumerate([*order, AVERAGE])}
    table = table.assign(_rank=table["protocol"].map(rank)).sort_values(["method", "_rank"], kind="stable")
    return table.drop(columns="_rank").reset_index(drop=True)[list(AGGREGATED_COLUMNS)]


def _average(method: str, rows: pd.DataFrame, n_protocols: int) -> dict[str, object]:
    complete = len(rows) == n_protocols
    k = len(rows)
    row: dict[str, object] = {"method": method, "protocol": AVERAGE, "n_seeds": int(rows["n_seeds"].min())}
    for metric in ("hter", "auc"):
        row[f"{metric}_mean"] = rows[f"{metric}_mean"].mean() if complete else math.nan
        # A single-seed protocol has no SE, so neither has the average.
        row[f"{metric}_se"] = (rows[f"{metric}_se"] ** 2).sum(min_count=k) ** 0.5 / k if complete else math.nan
    return row


def _reported_present(reported: pd.DataFrame, protocols: list[str]) -> pd.DataFrame:
    """Reported rows of the protocols in the suite, in the file's order."""
    return reported[reported["protocol"].isin(protocols)]


def _method_order(aggregated: pd.DataFrame) -> list[str]:
    """Methods ranked by average HTER (best first); methods without an average last, by name."""
    averages = aggregated[aggregated["protocol"] == AVERAGE].copy()
    averages["_missing"] = averages["hter_mean"].isna()
    ranked = averages.sort_values(["_missing", "hter_mean", "method"], kind="stable")
    return ranked["method"].tolist()


def _pct(mean: float, se: float) -> str:
    if math.isnan(mean):
        return _MISSING
    if math.isnan(se):
        return f"{100 * mean:.2f}"
    return f"{100 * mean:.2f} ± {100 * se:.2f}"


def render_markdown(
    aggregated: pd.DataFrame,
    *,
    reported: pd.DataFrame,
    suite: str,
    header_info: HeaderInfo,
) -> str:
    """The leaderboard as Markdown: header block, computed table, reported table.

    Args:
        aggregated: Output of ``aggregate``.
        reported: Output of ``read_reported``; only rows of protocols present in
            ``aggregated`` are shown.
        suite: Suite (experiment) name, used in the title.
        header_info: The choices behind the numbers, printed in the header.

    Returns:
        Markdown text ending with a newline; no date, so equal inputs give equal text.
    """
    info = header_info
    protocols = protocol_order(aggregated["protocol"])
    columns = [*protocols, AVERAGE]
    oracle = info.uses_target_labels
    seeds = aggregated.loc[aggregated["protocol"] != AVERAGE, "n_seeds"]
    most_seeds = int(seeds.max())
    selection = get_selection_rule(info.selection_rule)
    threshold = get_threshold_rule(info.threshold_rule)

    lines = [f"# Leaderboard: {suite}", ""]
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
        f"- Preset: {info.preset}",
        f"- Model selection: `{selection.name}` — {selection.description}",
        f"- Threshold rule: `{threshold.name}` — {threshold.description}",
        f"- Level: {info.level}",
        f"- Seeds per cell: {seed_text}",
        "- Cells: HTER % / AUC % on the target domain's test split, each mean ± standard error over seeds "
        "(sample standard deviation / √n; no ± for one seed). Average: mean over the protocols, "
        "standard error √(Σ SE²) / k; – where a method lacks a protocol.",
        "",
    ]

    oracle_mark = " (oracle)" if oracle else ""
    heading = f"## Computed by dgfas on {info.data_source} data: HTER at the `{threshold.name}` threshold"
    if oracle:
        heading += " (oracle: uses target test labels)"
    lines += [heading, ""]
    header = ["Method", *(f"{_protocol_title(name)}{oracle_mark}" for name in columns)]
    lines += [_row(header), _row(["---"] * len(header))]
    cells = aggregated.set_index(["method", "protocol"])
    for method in _method_order(aggregated):
        row = [method]
        for name in columns:
            if (method, name) not in cells.index:
                row.append(_MISSING)
                continue
            cell = cells.loc[(method, name)]
            if math.isnan(cell["hter_mean"]) and math.isnan(cell["auc_mean"]):
                row.append(_MISSING)
                continue
            text = f"{_pct(cell['hter_mean'], cell['hter_se'])} / {_pct(cell['auc_mean'], cell['auc_se'])}"
            if name != AVERAGE and int(cell["n_seeds"]) < most_seeds:
                text += f" (n={int(cell['n_seeds'])})"
            row.append(text)
        lines.append(_row(row))

    shown = _reported_present(reported, protocols)
    if not shown.empty:
        lines += [
            "",
            "## Reported in papers (mostly oracle): measured on the real datasets by the papers' authors, "
            "not comparable",
            "",
            "Numbers as printed in the cited sources (HTER % / AUC %). The authors measured them on the real "
            "datasets with their own model-selection and threshold rules, mostly oracle (the checkpoint and "
            "the EER threshold chosen on the target test split). They are not directly comparable with the "
            f"rows above, which dgfas computed on {info.data_source} data with the rules stated in the header.",
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
    return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def render_csv(
    aggregated: pd.DataFrame,
    *,
    reported: pd.DataFrame,
    suite: str,
    header_info: HeaderInfo,
) -> str:
    """The leaderboard as CSV: one row per (method, protocol), computed rows then reported rows.

    Values are percent, like the reported numbers, in columns ``hter_pct``,
    ``hter_pct_se``, ``auc_pct``, ``auc_pct_se``; computed values are rounded to 4
    decimals so the text is stable, reported ones kept as printed. ``kind`` is
    "computed" or "reported"; reported rows leave the rule columns blank (the papers'
    rules differ) and name their source. Same arguments as ``render_markdown``.
    """
    info = header_info
    protocols = protocol_order(aggregated["protocol"])
    rank = {name: position for position, name in enumerate([*protocols, AVERAGE])}
    methods = {name: position for position, name in enumerate(_method_order(aggregated))}
    computed = aggregated.assign(
        _method_rank=aggregated["method"].map(methods), _rank=aggregated["protocol"].map(rank)
    ).sort_values(["_method_rank", "_rank"], kind="stable")

    def number(value: float) -> str:
        return "" if math.isnan(value) else f"{100 * value:.4f}"

    rows = [
        {
            "suite": suite,
            "kind": "computed",
            "method": row.method,
            "venue": "",
            "protocol": row.protocol,
            "data_source": info.data_source,
            "preset": info.preset,
            "selection_rule": info.selection_rule,
            "threshold_rule": info.threshold_rule,
            "level": info.level,
            "n_seeds": str(int(row.n_seeds)),
            "hter_pct": number(row.hter_mean),
            "hter_pct_se": number(row.hter_se),
            "auc_pct": number(row.auc_mean),
            "auc_pct_se": number(row.auc_se),
            "source": "dgfas",
        }
        for row in computed.itertuples(index=False)
    ]
    for row in _reported_present(reported, protocols).itertuples(index=False):
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
            }
        )
    return pd.DataFrame(rows).to_csv(index=False, lineterminator="\n")


def write_leaderboard(
    suite: str,
    out_dir: str | os.PathLike[str] = "leaderboards",
    *,
    threshold_rule: str = "dev_eer",
    level: str = "video",
    selection_rule: str | None = None,
    records: pd.DataFrame | None = None,
    reported_path: str | os.PathLike[str] = REPORTED_CSV,
) -> tuple[Path, Path]:
    """Load, aggregate and render a suite's leaderboard to ``<out_dir>/<stem>.md`` and ``.csv``.

    The stem is the suite name, with ``-<threshold_rule>``, ``-<level>`` and
    ``-<selection_rule>`` appended when they differ from the defaults,
    so an oracle table never overwrites the honest one. Both files are written
    atomically (temporary file, then rename).

    Args:
        suite: Suite (MLflow experiment) name, e.g. "synthetic-quick".
        out_dir: Folder of the output files; created if missing.
        threshold_rule: "dev_eer" (honest) or "oracle_eer" (what DG-FAS papers report).
        level: "video" or "frame".
        selection_rule: Keep only runs with this model-selection rule; needed when
            the suite holds runs of several rules.
        records: Run records to use instead of loading them from MLflow.
        reported_path: CSV of numbers reported in papers.

    Returns:
        Paths of the Markdown and CSV files.
    """
    if records is None:
        from dgfas.tracking.mlflow_store import load_run_records

        records = load_run_records(suite)
    if selection_rule is not None:
        get_selection_rule(selection_rule)
        records = records[records["selection_rule"] == selection_rule]
    if records.empty:
        kept = f" with selection rule '{selection_rule}'" if selection_rule else ""
        raise DgfasError(f"suite '{suite}' has no finished runs{kept}")
    info = header_info(records, threshold_rule=threshold_rule, level=level)
    if "start_time" in records.columns:
        records = latest_per_seed(records)
    aggregated = aggregate(records, level=level, threshold_rule=threshold_rule)
    reported = read_reported(reported_path)

    stem = suite
    if threshold_rule != "dev_eer":
        stem += f"-{threshold_rule}"
    if level != "video":
        stem += f"-{level}"
    if selection_rule not in (None, "source_val"):
        stem += f"-{selection_rule}"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    markdown_path, csv_path = out / f"{stem}.md", out / f"{stem}.csv"
    atomic_write_text(markdown_path, render_markdown(aggregated, reported=reported, suite=suite, header_info=info))
    atomic_write_text(csv_path, render_csv(aggregated, reported=reported, suite=suite, header_info=info))
    return markdown_path, csv_path
