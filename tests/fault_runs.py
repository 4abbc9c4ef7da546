"""What the fault tests read back from a store: its job runs and their final metrics.

Shared by ``tests/test_faults.py`` and ``tests/test_faults_checkpoint.py``,
whose assertions are about the jobs' runs, not the parent runs of the
commands that ran them.
"""

from __future__ import annotations

from pathlib import Path

from dgfas.tracking.stored_runs import logged_final_metrics
from dgfas.tracking.run_contract import INVOCATION_TAG

SUITE = "synthetic-tiny"


def job_runs(store: Path) -> list:
    """The job runs in ``store``'s tiny suite (none when it has no such experiment yet)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    experiment = client.get_experiment_by_name(SUITE)
    runs = [] if experiment is None else client.search_runs([experiment.experiment_id])
    return [run for run in runs if INVOCATION_TAG not in run.data.tags]


def final_metrics(store: Path, run) -> dict[str, float]:
    """The final metrics ``run`` logged, by name."""
    from mlflow import MlflowClient

    return logged_final_metrics(MlflowClient(tracking_uri=f"sqlite:///{store}"), run)

