"""Reading runs back from the MLflow store: a job's finished run by its key, and a suite's runs as leaderboard records.

A run is read by the names :mod:`dgfas.tracking.run_contract` gives its parts
(:data:`~dgfas.tracking.run_contract.METRICS_TABLE` and the others), its params and tags
as :mod:`dgfas.tracking.record` reads them and its metrics by :mod:`dgfas.metric_names`.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dgfas.errors import DgfasError
from dgfas.metric_names import FINAL_METRIC_ROLES
from dgfas.tracking.record import RECORD_COLUMNS, RUN_KEY_TAG, StoredRecord
from dgfas.tracking.run_contract import INVOCATION_TAG, METRICS_TABLE_TAG
from dgfas.tracking.store import local_artifacts, mlflow_client, suite_experiment_id

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.tracking import MlflowClient

_RUN_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]+$")


def end_orphaned_runs(suite: str, run_key: str) -> None:
    """Mark KILLED the RUNNING runs of ``suite`` tagged ``run_key``; call only while holding the job's claim.

    Such a run's process died without ending it (``kill -9``, a lost node):
    had it lived, it would still hold the claim (:mod:`dgfas.claims`).
    """
    client = mlflow_client()
    experiment_id = suite_experiment_id(client, suite, create=False)
    if experiment_id is None:
        return
    orphans = client.search_runs(
        [experiment_id], filter_string=f"tags.`{RUN_KEY_TAG}` = '{_checked_key(run_key)}' and attributes.status = 'RUNNING'"
    )
    for run in orphans:
        client.set_terminated(run.info.run_id, "KILLED")


def _checked_key(run_key: str) -> str:
    """``run_key``, refused when it could break out of a search filter's quotes."""
    if not _RUN_KEY_PATTERN.match(run_key):
        raise DgfasError(f"run key '{run_key}' has characters outside [A-Za-z0-9_.:-]")
    return run_key


def find_finished_run(suite: str, run_key: str) -> str | None:
    """Id of the newest FINISHED run of ``suite`` tagged ``dgfas.run_key = run_key``, if any.

    A benchmark that is run again uses this to skip jobs already done; failed,
    killed and still-running runs are ignored so they are retried.
    """
    client = mlflow_client()
    experiment_id = suite_experiment_id(client, suite, create=False)
    if experiment_id is None:
        return None
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{RUN_KEY_TAG}` = '{_checked_key(run_key)}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].info.run_id if runs else None


def load_run_records(suite: str) -> pd.DataFrame:
    """The "load" step of the leaderboard: one row per FINISHED run of ``suite``.

    Columns are ``RECORD_ID_COLUMNS`` (from params, falling back to ``dgfas.*`` tags;
    ``seed`` as int), then ``run_id``, ``run_key``, ``start_time`` (ms since the
    epoch, to pick the newest of repeated runs), ``hparam_draw`` (the sweep draw
    from tag ``dgfas.hparam_draw``, ``<NA>`` for a run outside a sweep) and ``holdout_source``
    (the source domain a leave-one-source-domain-out run left out, None for a normal run), the backbone params
    ``SETUP_COLUMNS`` (None where a run lacks them), then ``RECORD_CODE_COLUMNS`` (what code and which
    protocol file computed it, and where; see there), then every final metric (``source_val.*``,
    ``target_test.*``) in sorted order. A metric a run lacks is NaN.

    Raises:
        DgfasError: If the tracking store has no experiment named ``suite``.
    """
    import pandas as pd

    client = mlflow_client()
    experiment_id = suite_experiment_id(client, suite, create=False)
    if experiment_id is None:
        names = sorted(experiment.name for experiment in client.search_experiments())
        raise DgfasError(
            f"no MLflow experiment '{suite}' at {client.tracking_uri}; suites there: {names}"
        )
    rows = []
    page_token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            filter_string="attributes.status = 'FINISHED'",
            order_by=["attributes.start_time ASC"],
            max_results=1000,
            page_token=page_token,
        )
        rows.extend(_record(client, run) for run in page if INVOCATION_TAG not in run.data.tags)
        page_token = page.token
        if not page_token:
            break
    id_columns = list(RECORD_COLUMNS)
    records = pd.DataFrame(rows, columns=None if rows else id_columns)
    metric_columns = sorted(column for column in records.columns if column not in id_columns)
    records = records.reindex(columns=[*id_columns, *metric_columns])
    if rows:
        records["seed"] = records["seed"].astype(int)
        records["hparam_draw"] = records["hparam_draw"].astype("Int64")
    return records


def _record(client: MlflowClient, run: Any) -> dict[str, Any]:
    stored = StoredRecord.read(run.info.run_id, run.info.start_time, run.data.params, run.data.tags)
    return {**stored.columns(), **logged_final_metrics(client, run)}


def logged_final_metrics(client: MlflowClient, run: Any) -> dict[str, float]:
    """Every final metric (``source_val.*``, ``target_test.*``, ``selection.*``) an MLflow run logged, by name.

    From the run's :data:`METRICS_TABLE` where it has one, else from its MLflow
    metrics, where runs logged before the table kept them; a metric the table
    holds as null (NaN) is NaN.

    Args:
        client: A client of the store holding the run, to read its artifacts through.
        run: The run, as ``MlflowClient.get_run`` or ``search_runs`` gives it.
    """
    table_name = run.data.tags.get(METRICS_TABLE_TAG)
    logged = run.data.metrics if table_name is None else _table_metrics(client, run, table_name)
    return {name: value for name, value in logged.items() if name.split(".", 1)[0] in FINAL_METRIC_ROLES}


def _table_metrics(client: MlflowClient, run: Any, table_name: str) -> dict[str, float]:
    """The (metric, value) rows of the run's :data:`METRICS_TABLE`, read in place from a SQLite store's folder."""
    local = local_artifacts(client, run.info.artifact_uri)
    if local is not None:
        table = _read_table(local / table_name)
    else:
        with tempfile.TemporaryDirectory(prefix="dgfas-metrics-") as scratch:
            table = _read_table(Path(client.download_artifacts(run.info.run_id, table_name, scratch)))
    names, values = table.get("columns"), table.get("data")
    if names != ["metric", "value"] or not isinstance(values, list):
        raise DgfasError(f"{table_name} of MLflow run {run.info.run_id} is not a (metric, value) table")
    return {str(name): math.nan if value is None else float(value) for name, value in values}


def _read_table(path: Path) -> dict[str, Any]:
    """An MLflow table artifact (``log_table``'s JSON: ``columns`` and ``data`` rows)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DgfasError(f"cannot read the metrics table {path}: {error}") from None


def download_artifacts(run_id: str, names: list[str], dst_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Copy the run's top-level artifacts ``names`` into ``dst_dir``; those the run lacks are left out.

    Goes through the tracking server when there is one, so a reader needs no
    access to the artifact store itself. A SQLite store's artifacts are read
    from beside the store as it is now (:func:`dgfas.tracking.store.local_artifacts`),
    so a moved or copied clone still finds its own score files and figures.
    """
    client = mlflow_client()
    Path(dst_dir).mkdir(parents=True, exist_ok=True)
    local = local_artifacts(client, client.get_run(run_id).info.artifact_uri)
    if local is not None:
        found = {name: local / name for name in names if (local / name).is_file()}
        return {name: Path(shutil.copy(path, Path(dst_dir) / name)) for name, path in found.items()}
    present = {item.path for item in client.list_artifacts(run_id)}
    return {name: Path(client.download_artifacts(run_id, name, str(dst_dir))) for name in names if name in present}

