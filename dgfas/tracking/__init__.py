"""Run tracking (MLflow) and leaderboards.

``store`` opens the MLflow store, ``tracked_run`` writes a run to it and
``stored_runs`` reads runs back, by the names of ``run_contract`` and the tags of
``record``; they import
MLflow lazily, as ``figures`` imports matplotlib. ``leaderboard`` writes a
suite's leaderboards in three steps: ``records`` loads and filters its runs,
``aggregation`` aggregates them over seeds and test subjects, and ``markdown``
and ``csv`` render the tables (in the order of ``table_order``, beside the
papers' numbers of ``reported``), ``html`` one self-contained page with ROC
curves and predicted maps; ``run_views`` draws what a run shows in MLflow's UI
besides numbers, and ``ui`` serves that UI (``dgfas ui``).
"""

from dgfas.tracking.aggregation import aggregate
from dgfas.tracking.csv import render_csv
from dgfas.tracking.header import HeaderInfo, header_info
from dgfas.tracking.html import render_html, write_html
from dgfas.tracking.leaderboard import write_leaderboard
from dgfas.tracking.markdown import render_markdown
from dgfas.tracking.figures import roc_curves_figure, roc_det_figure
from dgfas.tracking.store import tracking_uri
from dgfas.tracking.stored_runs import download_artifacts, find_finished_run, load_run_records
from dgfas.tracking.tracked_run import TrackedRun
from dgfas.tracking.counted_runs import read_records_csv
from dgfas.tracking.reported import read_reported

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
