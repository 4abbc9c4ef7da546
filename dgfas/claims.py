"""Claims on jobs, so that any number of benchmark or sweep processes sharing a runs folder train each job once.

A job is claimed by holding an exclusive lock on ``claim.lock`` in its run
folder (``<runs>/<suite>/<run key>``) for as long as it trains. The lock is an
OS file lock (``filelock``: ``fcntl.flock`` on POSIX), which the kernel
releases when its holder exits, however it exits: a holder killed with
``kill -9`` or lost with its node leaves no claim behind, so there is no stale
lock to age out. Everything in the folder belongs to the claim's holder; a
process that gets the claim may therefore treat a RUNNING MLflow run of the
same key as an orphan and clean up temporaries a killed holder left behind.

The holder writes who it is (host and process id) beside the lock, so the
processes it turns away can say where the job runs.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from dgfas.atomic import atomic_write_text
from dgfas.errors import DgfasError

LOCK_NAME = "claim.lock"
HOLDER_NAME = "claim.json"


def holder(job_dir: Path) -> str:
    """Who holds the claim on ``job_dir``, as "pid P on HOST", or "another process" when it has not said yet."""
    try:
        found = json.loads((job_dir / HOLDER_NAME).read_text(encoding="utf-8"))
        return f"pid {int(found['pid'])} on {found['host']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextmanager
def claim(job_dir: Path) -> Iterator[bool]:
    """Hold the claim on the job whose run folder is ``job_dir`` for the ``with`` block, if no live process does.

    Yields:
        True when this process holds the claim, False when another live process does.

    Raises:
        DgfasError: ``job_dir`` cannot be created or its lock file cannot be opened.
    """
    try:
        job_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(job_dir / LOCK_NAME, timeout=0)
        lock.acquire()
    except Timeout:
        yield False
        return
    except OSError as error:
        raise DgfasError(f"cannot claim run folder {job_dir}: {error.strerror or error}") from None
    try:
        atomic_write_text(job_dir / HOLDER_NAME, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
        _remove_temporaries(job_dir)
        yield True
    finally:
        lock.release()


def _remove_temporaries(job_dir: Path) -> None:
    """Delete the ``.*.tmp`` files an interrupted atomic write left in ``job_dir``; only its claim's holder may."""
    for path in job_dir.glob(".*.tmp"):
        path.unlink(missing_ok=True)
