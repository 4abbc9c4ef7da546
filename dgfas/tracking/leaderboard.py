"""Leaderboards in three separate steps: load run records, aggregate over seeds, render.

* load: ``mlflow_store.load_run_records(suite)`` (or ``read_records_csv`` for a fixture)
  gives one row per finished run with its final metrics;
* aggregate: ``aggregate(records)`` gives, per method and protocol, the mean and
  standard error over seeds of HTER and AUC, plus an "Average" over the protocols of
  each protocol kind (leave-one-out, limited-source, cross-test);
* render: ``render_markdown`` / ``render_csv`` turn that into text: one computed table
  per protocol kind, each followed by the numbers reported in papers for that kind,
  set apart in their own table.

An average never mixes kinds: a cross-test trains on one domain and a leave-one-out
protocol on three, so their HTERs measure different things.

Rendering is deterministic (no dates, fixed kind, protocol and row order) so a
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
from dgfas.protocols import PROTOCOL_KINDS, PROTOCOL_ORDER, get_protocol
from dgfas.scores import LEVELS
from dgfas.selection import get_selection_rule, get_threshold_rule

REPORTED_CSV = Path(__file__).resolve().parents[2] / "leaderboards" / "reported.csv"
"""Numbers printed in papers, one row per (method, protocol), in percent."""

AVERAGE = "Average"
"""Protocol name of the per-method average over one kind's protocols in an aggregated table."""

OTHER_KIND = "other"
"""Kind of a protocol run from a file outside protocols/: the run records do not carry its kind."""

KIND_ORDER = (*PROTOCOL_KINDS, OTHER_KIND)
"""Order of the per-kind tables: leave-one-out, limited-source, cross-test, intra, other."""

AGGREGATED_COLUMNS = (
    "method", "protocol_kind", "protocol", "n_seeds", "hter_mean", "hter_se", "auc_mean", "auc_se"
)
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


def variants_of(records: pd.DataFrame, method: str) -> pd.DataFrame:
    """Records of ``method`` itself and of its variants, named ``<method>[key=value,...]``.

    The bracket keeps ``erm`` from also matching a method named ``erm_v2``.
    """
    names = records["method"].astype(str)
    return records[(names == method) | names.str.startswith(f"{method}[")]


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


def aggregate(records: pd.DataFrame, *, level: str = "video", threshold_rule: str = "dev_eer") -> pd.DataFrame:
    """Mean and standard error over seeds of target-test HTER and AUC, per method and protocol.

    The standard error is the sample standard deviation over seeds / sqrt(n), NaN for
    a single seed. Each method also gets one ``AVERAGE`` row per protocol kind it has
    runs of: the mean over that kind's protocols of the per-protocol means, with
    standard error sqrt(sum of squared SEs) / k (protocols are trained independently).
    The average is NaN when the method lacks a protocol of the kind that another
    method has, since an average over fewer protocols is not comparable; its
    ``n_seeds`` is the smallest n among its protocols of the kind.

    Args:
        records: One row per run with ``method``, ``protocol``, ``seed`` and the metric
            columns ``target_test.{level}.hter.{threshold_rule}`` and ``target_test.{level}.auc``.
        level: "video" or "frame".
        threshold_rule: Which threshold's HTER to aggregate.

    Returns:
        Columns ``AGGREGATED_COLUMNS``; values are fractions in [0, 1], rows sorted by
        method, then kind in ``KIND_ORDER``, then protocol in canonical order with the
        kind's ``AVERAGE`` last.
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
    kinds = {name: protocol_kind(name) for name in per_protocol["protocol"].unique()}
    per_protocol["protocol_kind"] = per_protocol["protocol"].map(kinds)

    averages = [
        _average(method, kind, rows, n_protocols=of_kind["protocol"].nunique())
        for kind, of_kind in per_protocol.groupby("protocol_kind", sort=True)
        for method, rows in of_kind.groupby("method", sort=True)
    ]
    table = pd.concat([per_protocol, pd.DataFrame(averages)], ignore_index=True)
    kind_rank = {kind: position for position, kind in enumerate(KIND_ORDER)}
    protocols = [*protocol_order(per_protocol["protocol"]), AVERAGE]
    protocol_rank = {name: position for position, name in enumerate(protocols)}
    table = table.assign(
        _kind=table["protocol_kind"].map(kind_rank), _rank=table["protocol"].map(protocol_rank)
    ).sort_values(["method", "_kind", "_rank"], kind="stable")
    return table.drop(columns=["_kind", "_rank"]).reset_index(drop=True)[list(AGGREGATED_COLUMNS)]


def _average(method: str, kind: str, rows: pd.DataFrame, *, n_protocols: int) -> dict[str, object]:
    complete = len(rows) == n_protocols
    k = len(rows)
    row: dict[str, object] = {
        "method": method, "protocol_kind": kind, "protocol": AVERAGE, "n_seeds": int(rows["n_seeds"].min())
    }
    for metric in ("hter", "auc"):
        row[f"{metric}_mean"] = rows[f"{metric}_mean"].mean() if complete else math.nan
        # A single-seed protocol has no SE, so neither has the average.
        row[f"{metric}_se"] = (rows[f"{metric}_se"] ** 2).sum(min_count=k) ** 0.5 / k if complete else math.nan
    return row


def _reported_present(reported: pd.DataFrame, protocols: list[str]) -> pd.DataFrame:
    """Reported rows of the given protocols, in the file's order."""
    return reported[reported["protocol"].isin(protocols)]


def _method_order(of_kind: pd.DataFrame) -> list[str]:
    """Methods of one kind's table ranked by its average HTER (best first); those without an
    average last, by name."""
    averages = of_kind[of_kind["protocol"] == AVERAGE].copy()
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
    method: str | None = None,
) -> str:
    """The leaderboard as Markdown: header block, then per protocol kind a computed table
    and the reported table of that kind's protocols.

    Args:
        aggregated: Output of ``aggregate``.
        reported: Output of ``read_reported``; only rows of protocols present in
            ``aggregated`` are shown, each under its protocol's kind.
        suite: Suite (experiment) name, used in the title.
        header_info: The choices behind the numbers, printed in the header.
        method: When the board holds only one method's variants, that method, named
            in the title.

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
    reported_of = {kind: _reported_present(reported, protocols_of[kind]) for kind in kinds}

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
        f"- Preset: {info.preset}",
        f"- Model selection: `{selection.name}` — {selection.description}",
        f"- Threshold rule: `{threshold.name}` — {threshold.description}",
        f"- Level: {info.level}",
        f"- Seeds per cell: {seed_text}",
        "- Cells: HTER % / AUC % on the target domain's test split, each mean ± standard error over seeds "
        "(sample standard deviation / √n; no ± for one seed). One table per protocol kind; its Average: "
        "mean over the kind's protocols, standard error √(Σ SE²) / k; – where a method lacks one of them.",
    ]
    if any(not rows.empty for rows in reported_of.values()):
        lines.append(
            "- Reported in papers: numbers as printed in the cited sources (HTER % / AUC %). The authors "
            "measured them on the real datasets with their own model-selection and threshold rules, mostly "
            "oracle (the checkpoint and the EER threshold chosen on the target test split). They are not "
            f"directly comparable with the computed rows, which dgfas measured on {info.data_source} data "
            "with the rules above."
        )

    oracle_mark = " (oracle)" if oracle else ""
    computed_heading = f"### Computed by dgfas on {info.data_source} data: HTER at the `{threshold.name}` threshold"
    if oracle:
        computed_heading += " (oracle: uses target test labels)"
    for kind in kinds:
        protocols = protocols_of[kind]
        columns = [*protocols, AVERAGE]
        of_kind = aggregated[aggregated["protocol_kind"] == kind]
        lines += ["", f"## {_kind_title(kind)}", "", computed_heading, ""]
        header = ["Method", *(f"{_protocol_title(name)}{oracle_mark}" for name in columns)]
        lines += [_row(header), _row(["---"] * len(header))]
        cells = of_kind.set_index(["method", "protocol"])
        for row_method in _method_order(of_kind):
            row = [row_method]
            for name in columns:
                if (row_method, name) not in cells.index:
                    row.append(_MISSING)
                    continue
                cell = cells.loc[(row_method, name)]
                if math.isnan(cell["hter_mean"]) and math.isnan(cell["auc_mean"]):
                    row.append(_MISSING)
                    continue
                text = f"{_pct(cell['hter_mean'], cell['hter_se'])} / {_pct(cell['auc_mean'], cell['auc_se'])}"
                if name != AVERAGE and int(cell["n_seeds"]) < most_seeds:
                    text += f" (n={int(cell['n_seeds'])})"
                row.append(text)
            lines.append(_row(row))
        lines += _reported_table(reported_of[kind], protocols)
    return "\n".join(lines) + "\n"


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
    rules differ) and name their source. ``protocol_kind`` (last column, so the older
    columns keep their positions) is the protocol's kind; each method has one
    ``Average`` row per kind. Rows go kind by kind, methods ranked as in the Markdown
    table of their kind. Same arguments as ``render_markdown``.
    """
    info = header_info
    kinds = kind_order(aggregated["protocol_kind"])
    protocols = protocol_order(aggregated["protocol"])
    rank = {name: position for position, name in enumerate([*protocols, AVERAGE])}
    kind_rank = {kind: position for position, kind in enumerate(kinds)}
    method_rank = {
        (kind, name): position
        for kind in kinds
        for position, name in enumerate(_method_order(aggregated[aggregated["protocol_kind"] == kind]))
    }
    computed = aggregated.assign(
        _kind=aggregated["protocol_kind"].map(kind_rank),
        _method_rank=[method_rank[key] for key in zip(aggregated["protocol_kind"], aggregated["method"])],
        _rank=aggregated["protocol"].map(rank),
    ).sort_values(["_kind", "_method_rank", "_rank"], kind="stable")

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
            "protocol_kind": row.protocol_kind,
        }
        for row in computed.itertuples(index=False)
    ]
    for kind in kinds:
        of_kind = protocol_order(aggregated.loc[aggregated["protocol_kind"] == kind, "protocol"])
        for row in _reported_present(reported, of_kind).itertuples(index=False):
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
    method: str | None = None,
    records: pd.DataFrame | None = None,
    reported_path: str | os.PathLike[str] = REPORTED_CSV,
) -> tuple[Path, Path]:
    """Load, aggregate and render a suite's leaderboard to ``<out_dir>/<stem>.md`` and ``.csv``.

    The stem is the suite name, with ``-<threshold_rule>``, ``-<level>`` and
    ``-<selection_rule>`` appended when they differ from the defaults, and
    ``-<method>`` for one method's variants, so an oracle table or an ablation
    never overwrites the main board. Both files are written atomically
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

    Returns:
        Paths of the Markdown and CSV files.
    """
    if records is None:
        from dgfas.tracking.mlflow_store import load_run_records

        records = load_run_records(suite)
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
    info = header_info(records, threshold_rule=threshold_rule, level=level)
    if "start_time" in records.columns:
        records = latest_per_seed(records)
    aggregated = aggregate(records, level=level, threshold_rule=threshold_rule)
    reported = read_reported(reported_path)
    if method is not None:
        reported = reported.iloc[:0]

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
    out.mkdir(parents=True, exist_ok=True)
    markdown_path, csv_path = out / f"{stem}.md", out / f"{stem}.csv"
    markdown = render_markdown(aggregated, reported=reported, suite=suite, header_info=info, method=method)
    atomic_write_text(markdown_path, markdown)
    atomic_write_text(csv_path, render_csv(aggregated, reported=reported, suite=suite, header_info=info))
    return markdown_path, csv_path
