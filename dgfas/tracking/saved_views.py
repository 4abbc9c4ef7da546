"""The MLflow side of ``dgfas ui``'s saved views: the store's suites, their headline metrics, a view stored in one."""

from __future__ import annotations

import json
import time
from typing import Any, Mapping

from dgfas.errors import DgfasError
from dgfas.tracking.run_contract import HEADLINE_METRICS, INTRA_HEADLINE_METRICS
from dgfas.tracking.store import mlflow_client, suite_experiment_id

_SAVED_VIEW_PREFIX = "mlflow.sharedViewState."  # the experiment tags MLflow's UI keeps its saved views in


def suite_names() -> list[str]:
    """The experiments (suites) of the tracking store, by name, MLflow's empty ``Default`` left out."""
    client = mlflow_client()
    return sorted(experiment.name for experiment in client.search_experiments() if experiment.name != "Default")


def headline_metrics_of(suite: str) -> list[str]:
    """The :data:`HEADLINE_METRICS` (and :data:`INTRA_HEADLINE_METRICS` if any run logged them) of ``suite``'s runs."""
    client = mlflow_client()
    experiment_id = suite_experiment_id(client, suite, create=False)
    if experiment_id is None:
        raise DgfasError(f"no MLflow experiment '{suite}' at {client.tracking_uri}; suites there: {suite_names()}")
    intra = next(iter(INTRA_HEADLINE_METRICS))
    has_intra = bool(client.search_runs([experiment_id], filter_string=f"metrics.`{intra}` >= 0", max_results=1))
    return [*HEADLINE_METRICS, *(INTRA_HEADLINE_METRICS if has_intra else {})]


def save_view(suite: str, key: str, name: str, state: Mapping[str, Any]) -> str:
    """Store ``state`` as the saved view ``key`` of the suite's runs table; the suite's experiment id.

    MLflow's UI keeps a saved (shared) view as the experiment tag
    ``mlflow.sharedViewState.<key>``: an envelope with the view's name and its
    state (search facets such as ``orderByKey``, and UI state such as
    ``selectedColumns``) as JSON text. The UI applies it when its URL carries
    ``viewStateShareKey=<key>`` and lists it among the experiment's views.
    """
    client = mlflow_client()
    experiment_id = suite_experiment_id(client, suite, create=False)
    if experiment_id is None:
        raise DgfasError(f"no MLflow experiment '{suite}' at {client.tracking_uri}; suites there: {suite_names()}")
    now = int(time.time() * 1000)
    envelope = {"name": name, "createdAt": now, "updatedAt": now, "state": json.dumps(dict(state))}
    client.set_experiment_tag(experiment_id, f"{_SAVED_VIEW_PREFIX}{key}", json.dumps(envelope))
    return experiment_id
