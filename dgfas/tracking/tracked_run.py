"""Writing one run to MLflow: :class:`TrackedRun` logs its params, metrics and artifacts and ends it with a status."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from dgfas.errors import DgfasError
from dgfas.tracking.record import tag
from dgfas.tracking.run_contract import HEADLINE_METRICS, INTRA_HEADLINE_METRICS, METRICS_TABLE, METRICS_TABLE_TAG
from dgfas.tracking.store import mlflow_client, suite_experiment_id

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure
    from mlflow.tracking import MlflowClient

# MLflow refuses a param value over 6000 characters and a batch of over 100 params or
# 1000 metrics (mlflow.utils.validation); we stay under those limits ourselves.
MAX_PARAM_VALUE_LENGTH = 6000
_PARAMS_PER_BATCH = 100
_METRICS_PER_BATCH = 1000
_TRUNCATION_MARK = "...[truncated; full value in params.json]"

_TERMINAL_STATUSES = ("FINISHED", "FAILED", "KILLED")


def _param_value(value: Any) -> str:
    text = str(value)
    if len(text) <= MAX_PARAM_VALUE_LENGTH:
        return text
    return text[: MAX_PARAM_VALUE_LENGTH - len(_TRUNCATION_MARK)] + _TRUNCATION_MARK


class TrackedRun:
    """One MLflow run of the trainer, ended with a status even when training raises.

    Use as a context manager so a crash ends the run as FAILED (and Ctrl-C as KILLED)
    instead of leaving it RUNNING forever; only FINISHED runs count as done for
    ``find_finished_run`` and as records for the leaderboard::

        with TrackedRun.start(suite, run_name, params, tags) as run:
            run.log_metrics({"train.loss": 0.7}, step=10)
            run.log_metrics(final_metrics)

    Attributes:
        client: The MLflow client the run logs through.
        run_id: MLflow's id of the run.
        suite: Experiment (suite) name the run belongs to.
    """

    def __init__(self, client: MlflowClient, run_id: str, suite: str) -> None:
        self.client = client
        self.run_id = run_id
        self.suite = suite
        self._ended = False
        self._monitor: Any = None

    @classmethod
    def start(
        cls,
        suite: str,
        run_name: str,
        params: Mapping[str, Any],
        tags: Mapping[str, Any],
        *,
        parent_run_id: str | None = None,
        system_metrics: bool = False,
    ) -> TrackedRun:
        """Create the suite's experiment if missing and open a run in it.

        Args:
            suite: Experiment name, ``f"{data_source}-{preset}"`` by the run contract.
            run_name: Human-readable name shown in the MLflow UI.
            params: Params to log; values are stringified, and any value longer than
                MLflow's 6000-character limit is truncated with a marker. The full,
                untruncated params always go to the ``params.json`` artifact.
            tags: Tags to set (``dgfas.run_key`` among them); ``dgfas.suite`` is
                added when absent.
            parent_run_id: The run of the command this run is a job of
                (:data:`dgfas.tracking.run_contract.INVOCATION_TAG`); the UI nests the run under
                it. A tag only: the job's identity and whether it finished
                (:func:`dgfas.tracking.stored_runs.find_finished_run`) do not depend on it.
            system_metrics: Sample CPU, memory, disk, network (and GPU with ``pynvml``) into
                ``system/*`` metrics while the run is open, where ``psutil`` is installed.

        Returns:
            The open run.
        """
        from mlflow.entities import Param

        client = mlflow_client()
        experiment_id = suite_experiment_id(client, suite, create=True)
        run_tags = {key: str(value) for key, value in tags.items()}
        run_tags.setdefault(tag("suite"), suite)
        if parent_run_id is not None:
            run_tags["mlflow.parentRunId"] = parent_run_id
        run = client.create_run(experiment_id, run_name=run_name, tags=run_tags)
        tracked = cls(client, run.info.run_id, suite)
        entries = [Param(key, _param_value(value)) for key, value in params.items()]
        for begin in range(0, len(entries), _PARAMS_PER_BATCH):
            client.log_batch(tracked.run_id, params=entries[begin : begin + _PARAMS_PER_BATCH])
        if params:
            tracked.log_dict({key: _jsonable(value) for key, value in params.items()}, "params.json")
        if system_metrics:
            tracked._monitor = _system_metrics_monitor(client, tracked.run_id)
        return tracked

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log named scalar metrics, at ``step`` for curves or step 0 for final values."""
        from mlflow.entities import Metric

        timestamp = int(time.time() * 1000)
        entries = [Metric(key, float(value), timestamp, step or 0) for key, value in metrics.items()]
        for begin in range(0, len(entries), _METRICS_PER_BATCH):
            self.client.log_batch(self.run_id, metrics=entries[begin : begin + _METRICS_PER_BATCH])

    def log_results(self, metrics: Mapping[str, float], *, intra: bool) -> None:
        """Log a run's final metrics: the headline ones as MLflow metrics, all of them in :data:`METRICS_TABLE`.

        Args:
            metrics: Every final metric by its name (``target_test.video.hter.dev_eer``), as fractions.
            intra: The run is of an intra-dataset protocol, whose headline adds :data:`INTRA_HEADLINE_METRICS`.
        """
        import pandas as pd

        self.log_metrics(headline_metrics(metrics, intra=intra))
        table = pd.DataFrame({"metric": list(metrics), "value": [float(value) for value in metrics.values()]})
        self.client.log_table(self.run_id, data=table, artifact_file=METRICS_TABLE)
        self.client.set_tag(self.run_id, METRICS_TABLE_TAG, METRICS_TABLE)

    def log_table(self, table: pd.DataFrame, name: str) -> None:
        """Store ``table`` as MLflow table artifact ``name`` (``.json``), which the UI shows as a table."""
        self.client.log_table(self.run_id, data=table, artifact_file=name)

    def log_image(self, image: np.ndarray, name: str) -> None:
        """Store an (H, W, 3) uint8 image as image artifact ``name`` (``.png``), which the UI shows inline."""
        self.client.log_image(self.run_id, image, artifact_file=name)

    def log_dataset(self, frame: pd.DataFrame, *, name: str, digest: str, context: str) -> None:
        """Record ``frame`` (one row per video) as a dataset the run used, under MLflow's ``context`` (``training``).

        MLflow keeps the dataset's name, digest, schema and row count, not its rows;
        ``digest`` is dgfas's fingerprint of the frames, so the UI tells the same data apart
        from data that changed.
        """
        import mlflow.data
        from mlflow.entities import DatasetInput, InputTag
        from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

        dataset = mlflow.data.from_pandas(frame, name=name, digest=digest)
        entity = DatasetInput(dataset._to_mlflow_entity(), tags=[InputTag(MLFLOW_DATASET_CONTEXT, context)])
        self.client.log_inputs(self.run_id, datasets=[entity])

    def log_artifact(self, path: str | os.PathLike[str]) -> None:
        """Copy a local file (a score CSV, a checkpoint) into the run's artifacts."""
        self.client.log_artifact(self.run_id, str(path))

    def log_dict(self, obj: Any, name: str) -> None:
        """Store a JSON- or YAML-serializable object as artifact ``name`` (by its suffix)."""
        self.client.log_dict(self.run_id, obj, name)

    def log_figure(self, fig: Figure, name: str) -> None:
        """Store a matplotlib figure as image artifact ``name`` (e.g. ``roc/target_test.png``)."""
        self.client.log_figure(self.run_id, fig, name)

    def end(self, status: str = "FINISHED") -> None:
        """End the run with FINISHED, FAILED or KILLED; ending twice is a no-op."""
        if status not in _TERMINAL_STATUSES:
            raise DgfasError(f"unknown run status '{status}'; valid: {list(_TERMINAL_STATUSES)}")
        if self._ended:
            return
        if self._monitor is not None:
            self._monitor.finish()  # its last samples go in before the run ends
        # Against a tracking server MLflow prints the run's link on stdout; stderr keeps
        # stdout for dgfas's own output (``dgfas train`` prints JSON there).
        with contextlib.redirect_stdout(sys.stderr):
            self.client.set_terminated(self.run_id, status)
        self._ended = True

    def __enter__(self) -> TrackedRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.end("FINISHED")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end("KILLED")
        else:
            self.end("FAILED")


def headline_metrics(metrics: Mapping[str, float], *, intra: bool) -> dict[str, float]:
    """:data:`HEADLINE_METRICS` (and for an intra protocol :data:`INTRA_HEADLINE_METRICS`) of ``metrics``, in percent."""
    names = {**HEADLINE_METRICS, **(INTRA_HEADLINE_METRICS if intra else {})}
    # rounded to 1e-6 %, so the UI shows 30 rather than 100 * 0.3 = 30.000000000000004
    return {short: round(100 * float(metrics[name]), 6) for short, name in names.items()}


def _system_metrics_monitor(client: MlflowClient, run_id: str) -> Any:
    """MLflow's sampler of system metrics into run ``run_id``, started; None where ``psutil`` is not installed.

    It samples every ``MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL`` seconds (10 by
    default) from a thread, so a run shorter than that logs none.
    """
    import importlib.util

    if importlib.util.find_spec("psutil") is None:
        return None
    from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

    monitor = SystemMetricsMonitor(run_id, tracking_uri=client.tracking_uri)
    monitor.start()
    return monitor


def _jsonable(value: Any) -> Any:
    """Params as JSON: numbers, strings, bools and lists kept, anything else as its str."""
    try:
        json.dumps(value)
    except TypeError:
        return str(value)
    return value
