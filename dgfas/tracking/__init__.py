"""Run tracking (MLflow) and leaderboards.

``mlflow_store`` is the only module that talks to MLflow, and imports it lazily;
``leaderboard`` turns the runs of a suite into Markdown and CSV tables, and ``html``
into one self-contained page with ROC curves and predicted maps; ``run_views`` draws
what a run shows in MLflow's UI besides numbers, and ``ui`` serves that UI (``dgfas ui``).
"""

from dgfas.tracking.html import render_html, write_html
from dgfas.tracking.leaderboard import (
    HeaderInfo,
    aggregate,
    header_info,
    read_records_csv,
    read_reported,
    render_csv,
    render_markdown,
    write_leaderboard,
)
from dgfas.tracking.mlflow_store import (
    TrackedRun,
    download_artifacts,
    find_finished_run,
    load_run_records,
    roc_curves_figure,
    roc_det_figure,
    tracking_uri,
)

__all__ = [
    "HeaderInfo",
    "TrackedRun",
    "aggregate",
    "download_artifacts",
    "find_finished_run",
    "header_info",
    "load_run_records",
    "read_records_csv",
    "read_reported",
    "render_csv",
    "render_html",
    "render_markdown",
    "roc_curves_figure",
    "roc_det_figure",
    "tracking_uri",
    "write_html",
    "write_leaderboard",
]
