"""Whether third-party libraries may talk: their INFO lines show only under ``--verbose``.

The choice travels in the environment (``DGFAS_VERBOSE=1``) rather than in a
global, because the code that makes the noise often runs in another process
(corpus preparation's worker pool, a sweep's ``local`` or submitit launcher),
and those inherit the environment of the command that started them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

VERBOSE_ENV = "DGFAS_VERBOSE"

#: What a native library's informational line starts with (TensorFlow Lite's minimal logger).
NATIVE_INFO_PREFIX = "INFO: "


def is_verbose() -> bool:
    """Whether ``--verbose`` (or ``DGFAS_VERBOSE=1``) asked for third-party INFO lines."""
    return os.environ.get(VERBOSE_ENV) == "1"


@contextlib.contextmanager
def verbose(on: bool) -> Iterator[None]:
    """While the block runs, and in the processes it starts, :func:`is_verbose` is true if ``on``.

    ``on`` False leaves the environment alone, so ``DGFAS_VERBOSE=1`` set by
    the user still holds; the previous value comes back after the block.
    """
    if not on:
        yield
        return
    previous = os.environ.get(VERBOSE_ENV)
    os.environ[VERBOSE_ENV] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(VERBOSE_ENV, None)
        else:
            os.environ[VERBOSE_ENV] = previous


@contextlib.contextmanager
def native_info_held_back() -> Iterator[None]:
    """Drop the ``INFO:`` lines that native code writes to standard error during the block; other lines pass.

    TensorFlow Lite prints "INFO: Created TensorFlow Lite XNNPACK delegate for
    CPU." from C++ straight to file descriptor 2 when an interpreter first
    allocates its tensors, and neither LiteRT's API nor an environment variable
    (``TF_CPP_MIN_LOG_LEVEL`` does not reach it) turns it off. So descriptor 2
    points at a temporary file for the block, and what it caught, less those
    lines, is written to standard error after it: warnings and errors still
    show. Under ``--verbose`` nothing is held back.
    """
    if is_verbose():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            lines = caught.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not line.startswith(NATIVE_INFO_PREFIX)))
