"""Run tracking (MLflow) and leaderboards.

``mlflow_store`` is the only module that talks to MLflow, and imports it lazily;
``leaderboard`` turns the runs of a suite into Markdown and CSV tables.
"""

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
    find_finished_run,
    load_run_records,
    roc_figure,
    tracking_uri,
)

__all__ = [
    "HeaderInfo",
    "TrackedRun",
    "aggregate",
    "find_finished_run",
    "header_info",
    "load_run_records",
    "read_records_csv",
    "read_reported",
    "render_csv",
    "render_markdown",
    "roc_figure",
    "tracking_uri",
    "write_leaderboard",
]
