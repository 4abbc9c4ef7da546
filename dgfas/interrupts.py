"""Stop signals: handled at once, except in a training loop, which stops at the end of its step.

SIGTERM (what Slurm sends at a time limit) and SIGINT (Ctrl-C) raise a
``KeyboardInterrupt`` where the process is: that ends the MLflow run KILLED
rather than FAILED (:class:`dgfas.tracking.tracked_run.TrackedRun`) and removes
a half-written temporary file (:func:`dgfas.atomic.atomic_write`). In a training
loop that keeps a checkpoint, raising at once would lose the steps since the
last evaluation, so inside :func:`deferred` the signal is only noted; the loop
asks :func:`requested` after each step, saves a checkpoint and calls
:func:`stop`, which raises the same interrupt. A second signal raises at once,
for a user who will not wait.

The command line installs :func:`handle` (:func:`dgfas.cli.main`). The trainer
only asks this module, so it runs the same without it (in tests, in a notebook),
where a signal keeps Python's own behaviour and is never deferred.
"""

from __future__ import annotations

import contextlib
import signal
from typing import Iterator, NoReturn


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as Ctrl-C's ``KeyboardInterrupt`` is, so the process unwinds the same way."""


_deferring = False
_pending: int | None = None


def interrupt(signum: int) -> KeyboardInterrupt:
    """The exception signal ``signum`` raises: :class:`Terminated` for SIGTERM, ``KeyboardInterrupt`` for SIGINT."""
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def handle(signum: int, frame: object) -> None:
    """Signal handler: note the first signal inside :func:`deferred`, raise at once otherwise."""
    global _pending
    if _deferring and _pending is None:
        _pending = signum
        return
    raise interrupt(signum)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within, a stop signal waits for the loop to call :func:`stop`; one it never got to is raised on leaving."""
    global _deferring, _pending
    _deferring, _pending = True, None
    try:
        yield
    finally:
        signum, _deferring, _pending = _pending, False, None
    if signum is not None:  # only reached when the body returned: the signal came after its last check
        raise interrupt(signum)


def requested() -> bool:
    """Whether a stop signal is waiting for :func:`stop`."""
    return _pending is not None


def stop() -> NoReturn:
    """Raise the interrupt of the waiting stop signal (see :func:`requested`)."""
    global _pending
    signum, _pending = _pending, None
    if signum is None:
        raise RuntimeError("no stop signal is waiting")
    raise interrupt(signum)
