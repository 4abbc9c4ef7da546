"""Opening the MLflow tracking store: where it is, where its artifacts go, and a quiet client of it.

``store``, ``tracked_run``, ``records`` and ``saved_views`` are the modules that talk to
MLflow, and they import it inside functions so that the dgfas core (torch and numpy
only) never pays MLflow's import time.

We use ``MlflowClient`` rather than the fluent ``mlflow.start_run`` API: the client keeps
no process-global "active run", so a launcher that trains several jobs in one process, or
a test that opens a second store, cannot log into the wrong run.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from dgfas.errors import DgfasError
from dgfas.verbosity import is_verbose

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

DEFAULT_STORE_DIR = ".dgfas"
"""Folder (under the current directory) of the default SQLite store and its artifacts."""


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


def mlflow_client(uri: str | None = None) -> MlflowClient:
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


def suite_experiment_id(client: MlflowClient, suite: str, *, create: bool) -> str | None:
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
            client = mlflow_client(uri)
            for suite in suites:
                suite_experiment_id(client, suite, create=True)
    except (MlflowException, OSError, ValueError) as error:  # requests' errors are OSErrors
        detail = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
        raise DgfasError(f"cannot use the MLflow tracking store {uri} (MLFLOW_TRACKING_URI): {detail}") from None


def local_artifacts(client: MlflowClient, artifact_uri: str) -> Path | None:
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

