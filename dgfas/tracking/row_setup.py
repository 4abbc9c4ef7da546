"""Each leaderboard row's setup (backbone, width, initialization), stated in the table's header.

Two rows compare methods only when they start from the same weights on the
same backbone: an ImageNet-initialized ResNet-18 against a random one measures
pretraining as much as the method. So every header says, per row, what the
runs trained, and says so in bold when a table mixes initializations. Where
each method follows its paper and where it departs (architecture, inputs,
losses, schedule) is written once, in ``docs/methods.md``; the header points
each row to its section there.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from dgfas.paths import shipped_data_dir

#: Run-record columns (MLflow params) a row's setup is read from: backbone name, width, ``model.weights``.
SETUP_COLUMNS = ("algorithm.model", "model.width", "model.weights")

METHODS_DOC = shipped_data_dir("docs") / "methods.md"
"""Per method, what follows its paper and every deviation: one ``## <method>`` section each (shipped in the wheel
as well, so that installed copies point rows to their sections too)."""

#: What :func:`initialization` says of a run that logged no ``model.weights``.
_NOT_RECORDED = "initialization not recorded"


def initialization(weights: str | None) -> str:
    """How ``model.weights`` initialized a run, in words."""
    if weights is None:
        return _NOT_RECORDED
    if weights in ("none", ""):  # "": what runs logged for random initialization before ``none``
        return "random initialization"
    if weights == "imagenet":
        return "ImageNet (torchvision)"
    return f"weights from `{weights}`"


def documented_methods(doc: Path = METHODS_DOC) -> set[str]:
    """The methods with a ``## <method>`` section in ``doc``."""
    return set(re.findall(r"^## (\S+)\s*$", doc.read_text(encoding="utf-8"), flags=re.MULTILINE))


def _setup(run: pd.Series) -> str:
    model, width, weights = (run.get(column) for column in SETUP_COLUMNS)
    if model is None and width is None and weights is None:
        return "not recorded by its runs"
    backbone = f"{model} at width {width}" if model is not None and width is not None else "backbone not recorded"
    return f"{backbone}, {initialization(weights)}"


def setup_lines(records: pd.DataFrame, doc: Path = METHODS_DOC) -> list[str]:
    """Markdown header lines: each row's backbone, width and initialization, and a warning when rows mix
    initializations.

    Args:
        records: The runs behind the table, ``method`` holding each run's row name; the
            :data:`SETUP_COLUMNS` they lack read as "not recorded".
        doc: The methods document the rows point to.
    """
    columns = [column for column in SETUP_COLUMNS if column in records.columns]
    # As strings, the way MLflow keeps params (a CSV of records reads widths as floats); None where missing.
    runs = records[columns].map(lambda value: None if pd.isna(value) else str(value))
    runs.insert(0, "method", records["method"].astype(str))
    documented = documented_methods(doc)
    lines = ["- Rows' setup: each row's backbone, width and initialization, from its runs; where each method "
             "follows its paper and where it departs: `docs/methods.md`."]
    initializations: dict[str, set[str]] = {}
    for row_name, of_row in runs.groupby("method", sort=True):
        setups = sorted({_setup(run) for _, run in of_row.iterrows()})
        for weights in of_row.get("model.weights", pd.Series([None])):
            initializations.setdefault(initialization(weights), set()).add(row_name)
        method = row_name.split("[", 1)[0]
        note = f"`docs/methods.md#{method}`" if method in documented else "no entry in `docs/methods.md`"
        lines.append(f"- Row `{row_name}`: {'; '.join(setups)} ({note})")
    recorded = {name: rows for name, rows in initializations.items() if name != _NOT_RECORDED}
    if len(recorded) > 1:
        groups = "; ".join(f"{name}: {', '.join(f'`{row}`' for row in sorted(rows))}"
                           for name, rows in sorted(recorded.items()))
        lines.append(f"- **Mixed initializations:** rows start from different weights ({groups}); a difference "
                     "between them measures the initialization as well as the method.")
    return lines
