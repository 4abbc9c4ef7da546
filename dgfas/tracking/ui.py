"""``dgfas ui``: MLflow's UI on the dgfas tracking store, opened on the runs table with the headline metrics.

Out of the box MLflow 3's UI lands in its GenAI view and its runs table shows
no metric column. So before it starts the server, ``dgfas ui`` stores a saved
view in each suite's experiment (:data:`VIEW_KEY`) that shows the headline
metrics (:data:`dgfas.tracking.run_contract.HEADLINE_METRICS`) as columns and
sorts by HTER, best first; the printed URL opens the machine-learning view
(``workflowType=machine_learning``) with that view applied
(``viewStateShareKey``). Sorting by a metric also lists each benchmark's jobs
flat instead of folded under their parent runs.

Against a tracking server (``MLFLOW_TRACKING_URI=http://...``) nothing is
started: the views are stored there and the URLs printed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dgfas.errors import DgfasError

VIEW_KEY = "dgfas-headline"
"""Key of the saved view ``dgfas ui`` stores in each suite's experiment."""

VIEW_NAME = "dgfas: headline metrics (percent)"

STARTUP_TIMEOUT_S = 300
"""How long to wait for ``mlflow server`` to answer; it imports slowly on a busy machine."""


def view_state(metrics: list[str]) -> dict[str, object]:
    """The saved view: ``metrics`` as the table's columns in their order, runs sorted by the first of them, lowest first."""
    columns = [f"metrics.`{name}`" for name in metrics]
    return {"orderByKey": columns[0], "orderByAsc": True, "selectedColumns": columns, "columnOrder": columns}


def runs_table_url(base_url: str, experiment_id: str) -> str:
    """The URL of an experiment's runs table in the machine-learning view, with :data:`VIEW_KEY` applied."""
    return (f"{base_url.rstrip('/')}/#/experiments/{experiment_id}/runs"
            f"?workflowType=machine_learning&viewStateShareKey={VIEW_KEY}")


def save_views(base_url: str) -> dict[str, str]:
    """Store the headline view in every suite's experiment; the runs-table URL of each suite, by name."""
    from dgfas.tracking.saved_views import headline_metrics_of, save_view, suite_names

    return {suite: runs_table_url(base_url, save_view(suite, VIEW_KEY, VIEW_NAME, view_state(headline_metrics_of(suite))))
            for suite in suite_names()}


def server_command(uri: str, host: str, port: int) -> list[str]:
    """``mlflow server`` on the SQLite store ``uri``, new experiments' artifacts beside it as dgfas keeps them."""
    from dgfas.tracking.store import artifact_root

    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri, "--host", host,
               "--port", str(port), "--workers", "1"]
    root = artifact_root(uri)
    if root is not None:
        command += ["--default-artifact-root", root.resolve().as_uri()]
    return command


@contextmanager
def served(uri: str, host: str, port: int) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run ``mlflow server`` on ``uri`` for the ``with`` block; yield its base URL once it answers, and the process.

    The server runs in a process group of its own, which is ended (SIGTERM,
    then SIGKILL after 30 s) when the block exits, however it exits.

    Raises:
        DgfasError: the server exited, or did not answer within :data:`STARTUP_TIMEOUT_S`; with its last lines.
    """
    base_url = f"http://{host}:{port}"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(server_command(uri, host, port), stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        try:
            wait_until_up(base_url, server, log)
            yield base_url, server
        finally:
            stop_server(server)


def wait_until_up(base_url: str, server: subprocess.Popen, log) -> None:
    """Return once ``server`` answers ``/health`` at ``base_url``; ``log``: the open file its output goes to.

    Raises:
        DgfasError: it exited, or did not answer within :data:`STARTUP_TIMEOUT_S`; with its last lines.
    """
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise DgfasError(f"mlflow server exited with status {server.returncode}: {_tail(log)}")
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise DgfasError(f"mlflow server did not answer at {base_url} within {STARTUP_TIMEOUT_S} s: {_tail(log)}")


def _tail(log) -> str:
    log.seek(0)
    lines = [line.strip() for line in log.read().decode(errors="replace").splitlines() if line.strip()]
    return " | ".join(lines[-3:]) or "no output"


def stop_server(server: subprocess.Popen) -> None:
    """End a server started in a process group of its own: SIGTERM, then SIGKILL after 30 s."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)  # the server and its workers
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def run_ui(host: str, port: int) -> int:
    """``dgfas ui``: store the views, start the server on a SQLite store, print each suite's URL, serve until stopped."""
    from dgfas.tracking.store import open_store, tracking_uri

    uri = tracking_uri()
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise DgfasError(f"no tracking store at {uri}: run `dgfas benchmark` first, or set MLFLOW_TRACKING_URI")
    open_store([])  # an unusable store fails here, in one line
    if not uri.startswith("sqlite:///"):
        _print_urls(save_views(uri))
        return 0
    urls = save_views(f"http://{host}:{port}")
    with served(uri, host, port) as (base_url, server):
        _print_urls(urls)
        print(f"serving {uri} at {base_url}; Ctrl-C stops it", file=sys.stderr)
        try:
            return server.wait()
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: how a server is meant to stop; ``served`` stops it
            print("dgfas ui: stopped", file=sys.stderr)
            return 0


def _print_urls(urls: dict[str, str]) -> None:
    if not urls:
        print("the store holds no suite yet; run `dgfas benchmark` first", file=sys.stderr)
    for suite, url in urls.items():
        print(f"{suite}: {url}", flush=True)
