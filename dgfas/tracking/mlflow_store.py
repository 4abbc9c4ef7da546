"""MLflow as the run store: the trainer writes runs here, the leaderboard reads them back.

The layout of a run (experiment = suite, params, ``dgfas.*`` tags, final metrics named
``{role}.{level}.{name}[.{rule}]``) is the MLflow run contract in the project notes. The final
metrics go into a table artifact (:data:`METRICS_TABLE`) and only a few headline ones, in
percent, are MLflow metrics (:data:`HEADLINE_METRICS`); the jobs of one ``dgfas benchmark``
or ``sweep`` command are child runs of a run of that command (:data:`INVOCATION_TAG`). This
module is the only place that talks to MLflow, and it imports MLflow inside functions so
that the dgfas core (torch and numpy only) never pays MLflow's import time.

We use ``MlflowClient`` rather than the fluent ``mlflow.start_run`` API: the client keeps
no process-global "active run", so a launcher that trains several jobs in one process, or
a test that opens a second store, cannot log into the wrong run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import unquote, urlparse

import numpy as np

from dgfas.errors import DgfasError
from dgfas.tracking.row_setup import SETUP_COLUMNS
from dgfas.verbosity import is_verbose

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure
    from mlflow.tracking import MlflowClient

DEFAULT_STORE_DIR = ".dgfas"
"""Folder (under the current directory) of the default SQLite store and its artifacts."""

# MLflow refuses a param value over 6000 characters and a batch of over 100 params or
# 1000 metrics (mlflow.utils.validation); we stay under those limits ourselves.
MAX_PARAM_VALUE_LENGTH = 6000
_PARAMS_PER_BATCH = 100
_METRICS_PER_BATCH = 1000
_TRUNCATION_MARK = "...[truncated; full value in params.json]"

RECORD_ID_COLUMNS = ("method", "protocol", "seed", "data_source", "preset", "selection_rule")
"""Columns of ``load_run_records`` that identify a run; the rest are its final metrics."""

RECORD_CODE_COLUMNS = ("code_hash", "protocol_hash", "protocol_file", "torch_version", "device_name")
"""Columns of ``load_run_records`` saying what computed a run: the hash of the code that trained and scored it (param ``code_hash``,
:mod:`dgfas.code_identity`), the protocol file's content hash and path, torch's version and the
CPU or GPU it ran on; None where the run did not log it (runs logged before these were)."""

FINAL_METRIC_ROLES = ("source_val", "target_test", "selection")
"""Metric name prefixes of final (evaluation) metrics; ``train.*`` curves are not records."""

MAP_EXAMPLES = "maps.npz"
"""Artifact of a run whose method predicts dense maps: a few target-test inputs and their maps."""

METRICS_TABLE = "metrics.json"
"""Artifact holding every final metric of a run (``metric``, ``value``) as an MLflow table (``log_table``).

A run computes some 240 final metrics (roles × levels × threshold rules × selection
rules); as MLflow metrics they buried the few that matter in the UI, so they are kept
here and read back by :func:`load_run_records`. Runs logged before this kept them as
MLflow metrics, which :func:`logged_final_metrics` still reads. ``log_table`` writes the
values with pandas' JSON writer, to 10 decimals: 1e-8 percentage points, far below the
0.01 % a leaderboard prints."""

METRICS_TABLE_TAG = "dgfas.metrics_table"
"""Tag naming a run's :data:`METRICS_TABLE`, so reading an older run costs no artifact listing."""

HEADLINE_METRICS = {"HTER": "target_test.video.hter.dev_eer", "AUC": "target_test.video.auc",
                    "EER": "target_test.video.eer"}
"""The MLflow metrics every run shows, in percent: the target test split at video level, under the
run's own selection rule and the ``dev_eer`` threshold rule. Upper case, as the literature writes
them, which also sorts them above the ``eval.*``, ``train.*`` and ``system/*`` curves."""

INTRA_HEADLINE_METRICS = {"APCER": "target_test.video.apcer.dev_eer", "BPCER": "target_test.video.bpcer.dev_eer",
                          "ACER": "target_test.video.acer.dev_eer"}
"""Headline metrics an intra-dataset protocol's run adds: the ISO/IEC 30107-3 rates OULU-NPU and SiW report."""

INVOCATION_TAG = "dgfas.invocation"
"""Tag of the parent run of one ``dgfas benchmark`` or ``dgfas sweep`` command (its value: the command);
the jobs it runs are its child runs (MLflow's ``mlflow.parentRunId``). A parent is no record."""

_TERMINAL_STATUSES = ("FINISHED", "FAILED", "KILLED")
_SAVED_VIEW_PREFIX = "mlflow.sharedViewState."  # the experiment tags MLflow's UI keeps its saved views in
_RUN_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]+$")


def tracking_uri() -> str:
    """The MLflow tracking URI dgfas reads and writes.

    ``MLFLOW_TRACKING_URI`` wins so a team can point every machine at one server;
    otherwise a SQLite file in ``./.dgfas`` keeps a laptop benchmark self-contained
    (MLflow 3 deprecates its plain-file store, and SQLite supports the tag searches
    that ``find_finished_run`` needs).
    """
    configured = os.environ.get("MLFLOW_TRACKING_URI")
    if configured:
        return configured
    store_dir = Path.cwd() / DEFAULT_STORE_DIR
    store_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(store_dir / 'mlflow.db').resolve()}"


def artifact_root(uri: str) -> Path | None:
    """Where artifacts of a SQLite store go, or None to leave it to the tracking server.

    MLflow's default artifact root for a database store is ``./mlruns`` relative to
    whatever the current directory happens to be, which scatters artifacts; we keep
    them next to the database instead (``.dgfas/mlartifacts`` for the default store).
    """
    if not uri.startswith("sqlite:///"):
        return None
    database = Path(uri.removeprefix("sqlite:///"))
    if database.name == "mlflow.db" and database.parent.name == DEFAULT_STORE_DIR:
        return database.parent / "mlartifacts"
    return database.parent / f"{database.stem}-artifacts"


def _quiet_mlflow() -> None:
    """Silence MLflow's per-call INFO chatter so benchmark logs show our own progress.

    A new SQLite store logs "Creating initial MLflow database tables..." and alembic
    migration lines, and SQLAlchemy 2 warns about a loader strategy MLflow still uses;
    none of it is actionable for a dgfas user. Real warnings and errors still show,
    and ``--verbose`` (:mod:`dgfas.verbosity`) shows it all.
    """
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if is_verbose():
        return
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r"The ``noload`` loader strategy is deprecated")
    # mlflow.data infers a dataset's schema and hints that integer columns cannot hold missing values; ours hold none
    warnings.filterwarnings("ignore", message=r"Hint: Inferred schema contains integer column")
    # MLflow's log_table asks pandas 3 for object columns in a way pandas 3 deprecates
    warnings.filterwarnings("ignore", message=r"For backward compatibility, 'str' dtypes are included by select_dtypes")


_OPENED: set[str] = set()
"""Tracking URIs this process has opened, so a SQLite store's schema is checked once per process."""

PROBE_TIMEOUT_S = 5
"""How long :func:`open_store` waits for a tracking server, with no retries: MLflow's own
defaults (7 retries with exponential back-off, 120 s a request) give minutes of silence."""


def _client(uri: str | None = None) -> MlflowClient:
    """A client of ``uri`` (default :func:`tracking_uri`), its SQLite schema created once, under a lock.

    Processes that open a new SQLite store at the same time race to create its
    tables (alembic fails with "table ... already exists"); a lock file beside
    the database makes the first one create them and the others wait.
    """
    # Importing mlflow configures its loggers, so quiet them after the import.
    from filelock import FileLock
    from mlflow.tracking import MlflowClient

    _quiet_mlflow()
    uri = uri or tracking_uri()
    if not uri.startswith("sqlite:///") or uri in _OPENED:
        return MlflowClient(tracking_uri=uri)
    database = Path(uri.removeprefix("sqlite:///"))
    with FileLock(database.with_name(database.name + ".lock")):
        client = MlflowClient(tracking_uri=uri)  # opening the store creates or migrates its schema
    _OPENED.add(uri)
    return client


def _experiment_id(client: MlflowClient, suite: str, *, create: bool) -> str | None:
    """Id of the experiment named ``suite``; created on demand when ``create``."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(suite)
    if experiment is not None:
        return experiment.experiment_id
    if not create:
        return None
    root = artifact_root(client.tracking_uri)
    location = (root / suite).resolve().as_uri() if root is not None else None
    try:
        return client.create_experiment(suite, artifact_location=location)
    except MlflowException:
        # Another launcher process created it between our lookup and create.
        experiment = client.get_experiment_by_name(suite)
        if experiment is None:
            raise
        return experiment.experiment_id


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
            parent_run_id: The run of the command this run is a job of (:data:`INVOCATION_TAG`);
                the UI nests the run under it. A tag only: the job's identity and whether it
                finished (:func:`find_finished_run`) do not depend on it.
            system_metrics: Sample CPU, memory, disk, network (and GPU with ``pynvml``) into
                ``system/*`` metrics while the run is open, where ``psutil`` is installed.

        Returns:
            The open run.
        """
        from mlflow.entities import Param

        client = _client()
        experiment_id = _experiment_id(client, suite, create=True)
        run_tags = {key: str(value) for key, value in tags.items()}
        run_tags.setdefault("dgfas.suite", suite)
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


def open_store(suites: list[str]) -> None:
    """Open the tracking store and create the experiments of ``suites``, before any data is built or run trained.

    A mistyped ``MLFLOW_TRACKING_URI`` or a tracking server that is down is
    found here, in a few seconds, rather than after the data was built and
    minutes of MLflow's retries; a new SQLite store gets its tables once, before
    parallel jobs race to create them.

    Raises:
        DgfasError: one line naming the URI and what is wrong with it.
    """
    from unittest import mock

    from mlflow.exceptions import MlflowException

    uri = tracking_uri()
    probe = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": str(PROBE_TIMEOUT_S)}
    try:
        with mock.patch.dict(os.environ, probe):
            client = _client(uri)
            for suite in suites:
                _experiment_id(client, suite, create=True)
    except (MlflowException, OSError, ValueError) as error:  # requests' errors are OSErrors
        detail = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
        raise DgfasError(f"cannot use the MLflow tracking store {uri} (MLFLOW_TRACKING_URI): {detail}") from None


def end_orphaned_runs(suite: str, run_key: str) -> None:
    """Mark KILLED the RUNNING runs of ``suite`` tagged ``run_key``; call only while holding the job's claim.

    Such a run's process died without ending it (``kill -9``, a lost node):
    had it lived, it would still hold the claim (:mod:`dgfas.claims`).
    """
    client = _client()
    experiment_id = _experiment_id(client, suite, create=False)
    if experiment_id is None:
        return
    orphans = client.search_runs(
        [experiment_id], filter_string=f"tags.`dgfas.run_key` = '{_checked_key(run_key)}' and attributes.status = 'RUNNING'"
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
    client = _client()
    experiment_id = _experiment_id(client, suite, create=False)
    if experiment_id is None:
        return None
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`dgfas.run_key` = '{_checked_key(run_key)}' and attributes.status = 'FINISHED'",
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

    client = _client()
    experiment_id = _experiment_id(client, suite, create=False)
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
    id_columns = [*RECORD_ID_COLUMNS, "run_id", "run_key", "start_time", "hparam_draw", "holdout_source",
                  *SETUP_COLUMNS, *RECORD_CODE_COLUMNS]
    records = pd.DataFrame(rows, columns=None if rows else id_columns)
    metric_columns = sorted(column for column in records.columns if column not in id_columns)
    records = records.reindex(columns=[*id_columns, *metric_columns])
    if rows:
        records["seed"] = records["seed"].astype(int)
        records["hparam_draw"] = records["hparam_draw"].astype("Int64")
    return records


def _record(client: MlflowClient, run: Any) -> dict[str, Any]:
    params, tags = run.data.params, run.data.tags
    record: dict[str, Any] = {}
    for column in RECORD_ID_COLUMNS:
        value = params.get(column, tags.get(f"dgfas.{column}"))
        if value is None:
            raise DgfasError(
                f"MLflow run {run.info.run_id} has neither param '{column}' nor tag 'dgfas.{column}'"
            )
        record[column] = value
    # A run with overridden hyper-parameters is its own leaderboard row (``ResolvedRun.variant``).
    record["method"] = params.get("variant", record["method"])
    record["run_id"] = run.info.run_id
    record["run_key"] = tags.get("dgfas.run_key", "")
    record["start_time"] = run.info.start_time
    draw = tags.get("dgfas.hparam_draw")
    record["hparam_draw"] = None if draw is None else int(draw)
    record["holdout_source"] = params.get("holdout_source")
    record.update({column: params.get(column) for column in SETUP_COLUMNS})  # stated per row in leaderboard headers
    record["code_hash"] = params.get("code_hash")
    record["protocol_hash"] = params.get("protocol_hash")
    record["protocol_file"] = tags.get("dgfas.protocol_file")
    record["torch_version"] = tags.get("dgfas.torch_version")
    record["device_name"] = tags.get("dgfas.device_name")
    record.update(logged_final_metrics(client, run))
    return record


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
    local = _local_artifacts(client, run.info.artifact_uri)
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
    from beside the store as it is now (:func:`_local_artifacts`), so a moved
    or copied clone still finds its own score files and figures.
    """
    client = _client()
    Path(dst_dir).mkdir(parents=True, exist_ok=True)
    local = _local_artifacts(client, client.get_run(run_id).info.artifact_uri)
    if local is not None:
        found = {name: local / name for name in names if (local / name).is_file()}
        return {name: Path(shutil.copy(path, Path(dst_dir) / name)) for name, path in found.items()}
    present = {item.path for item in client.list_artifacts(run_id)}
    return {name: Path(client.download_artifacts(run_id, name, str(dst_dir))) for name in names if name in present}


def _local_artifacts(client: MlflowClient, artifact_uri: str) -> Path | None:
    """The artifact folder of a run in a SQLite store, under the store's artifact root as it is now; None for a server.

    MLflow records each run's artifact location as an absolute ``file://`` URI
    (``<root>/<suite>/<run id>/artifacts``), which points nowhere once the
    clone holding the store is moved, or into the original when it is copied;
    the last three parts of it, under :func:`artifact_root` of the store as
    it is opened now, are where the files are.
    """
    root = artifact_root(client.tracking_uri)
    if root is None:
        return None
    recorded = Path(unquote(urlparse(artifact_uri).path))
    return root.joinpath(*recorded.parts[-3:])


def roc_det_figure(label: np.ndarray, score: np.ndarray, title: str) -> Figure:
    """ROC and DET curves of one score set side by side, for a run to log with ``log_figure``.

    The DET plot (ISO/IEC 30107-3's for presentation attack detection) draws
    BPCER against APCER on normal-deviate axes, where the low-error corner
    that separates methods is spread out instead of pressed into the ROC's
    top left. The title is wrapped to the figure's width, never clipped.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from scipy.stats import norm
    from sklearn.metrics import det_curve

    label, score = _checked_scores(label, score, title, "")
    figure = Figure(figsize=(8.0, 4.4), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    roc_axes, det_axes = figure.subplots(1, 2)
    _plot_roc(roc_axes, {"": (label, score)})
    # live (1) is the positive class: false positives are spoofs accepted, false negatives lives rejected
    spoofs_accepted, lives_rejected, _ = det_curve(label, score, pos_label=1)
    eps = np.finfo(np.float64).eps
    det_axes.plot(norm.ppf(np.clip(spoofs_accepted, eps, 1 - eps)), norm.ppf(np.clip(lives_rejected, eps, 1 - eps)))
    ticks = np.array([0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999])
    names = [f"{100 * tick:g}%" for tick in ticks]
    det_axes.set_xticks(norm.ppf(ticks), names, rotation=45)
    det_axes.set_yticks(norm.ppf(ticks), names)
    det_axes.set_xlim(-3, 3)
    det_axes.set_ylim(-3, 3)
    det_axes.set_xlabel("spoofs accepted (APCER)")
    det_axes.set_ylabel("live rejected (BPCER)")
    det_axes.set_title("DET")
    roc_axes.set_title("ROC")
    figure.suptitle(_wrapped(title, figure, "figure.titlesize"))
    return figure


def roc_curves_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str) -> Figure:
    """ROC curves of several score sets on one axes, each (label, score) under its name.

    The figure is built on the Agg canvas without pyplot, so it needs no display
    and leaves pyplot's global figure list alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.0, 4.0), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    _plot_roc(axes, {name: _checked_scores(label, score, title, name) for name, (label, score) in curves.items()})
    axes.set_title(_wrapped(title, figure, "axes.titlesize"))
    return figure


def _checked_scores(label: np.ndarray, score: np.ndarray, title: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    label = np.asarray(label).ravel()
    score = np.asarray(score, dtype=np.float64).ravel()
    if set(np.unique(label).tolist()) != {0, 1}:
        raise DgfasError(f"ROC '{title}' needs both live (1) and spoof (0) labels{f' for {name}' if name else ''}")
    return label, score


def _plot_roc(axes: Any, curves: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """ROC curves on ``axes``, each named with its AUC.

    Live (label 1) is the positive class and a higher score means more live, so the
    x axis is the rate of spoofs accepted (FAR, APCER) and the y axis the rate of live
    faces accepted (1 - FRR, 1 - BPCER).
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    for name, (label, score) in curves.items():
        far, live_accept, _ = roc_curve(label, score, pos_label=1)
        auc = f"AUC = {100 * roc_auc_score(label, score):.2f}%"
        axes.plot(far, live_accept, label=f"{name} ({auc})" if name else auc)
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("spoofs accepted (FAR)")
    axes.set_ylabel("live accepted (1 - FRR)")
    axes.legend(loc="lower right")


def _wrapped(title: str, figure: Figure, size: str) -> str:
    """``title`` broken into lines that fit the figure's width at the font size rcParams[``size``] names."""
    import textwrap

    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties

    points = FontProperties(size=rcParams[size]).get_size_in_points()
    characters = int(figure.get_figwidth() * 72 / (0.6 * points))  # an average glyph is about 0.6 em wide
    return "\n".join(textwrap.wrap(title, characters)) or title


def suite_names() -> list[str]:
    """The experiments (suites) of the tracking store, by name, MLflow's empty ``Default`` left out."""
    client = _client()
    return sorted(experiment.name for experiment in client.search_experiments() if experiment.name != "Default")


def headline_metrics_of(suite: str) -> list[str]:
    """The :data:`HEADLINE_METRICS` (and :data:`INTRA_HEADLINE_METRICS` if any run logged them) of ``suite``'s runs."""
    client = _client()
    experiment_id = _experiment_id(client, suite, create=False)
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
    client = _client()
    experiment_id = _experiment_id(client, suite, create=False)
    if experiment_id is None:
        raise DgfasError(f"no MLflow experiment '{suite}' at {client.tracking_uri}; suites there: {suite_names()}")
    now = int(time.time() * 1000)
    envelope = {"name": name, "createdAt": now, "updatedAt": now, "state": json.dumps(dict(state))}
    client.set_experiment_tag(experiment_id, f"{_SAVED_VIEW_PREFIX}{key}", json.dumps(envelope))
    return experiment_id
