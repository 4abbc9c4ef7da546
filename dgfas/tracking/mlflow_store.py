"""The run store's names under their former module, for the importers that have not moved to the new modules yet.

MLflow as the run store is now :mod:`~dgfas.tracking.run_contract` (the layout of a
run), :mod:`~dgfas.tracking.store` (opening the store), :mod:`~dgfas.tracking.tracked_run`
(writing a run), :mod:`~dgfas.tracking.stored_runs` (reading runs back),
:mod:`~dgfas.tracking.figures` (ROC and DET figures) and :mod:`~dgfas.tracking.saved_views`
(the UI's saved views). The names below are those that ``dgfas/cli.py``,
``dgfas/submission.py``, and ``dgfas/tracking``'s ``__init__``, ``leaderboard`` and
``html`` import from here; none of them imports MLflow.
"""

from dgfas.tracking.figures import roc_curves_figure, roc_det_figure
from dgfas.tracking.stored_runs import download_artifacts, find_finished_run, load_run_records
from dgfas.tracking.run_contract import MAP_EXAMPLES
from dgfas.tracking.store import open_store, tracking_uri
from dgfas.tracking.tracked_run import TrackedRun

__all__ = [
    "MAP_EXAMPLES",
    "TrackedRun",
    "download_artifacts",
    "find_finished_run",
    "load_run_records",
    "open_store",
    "roc_curves_figure",
    "roc_det_figure",
    "tracking_uri",
]
