"""Atomic file writes: a reader (or a crashed run) never sees half a file.

Caches, score files and leaderboards are all written through here: the bytes
go to a temporary file in the destination folder, are flushed to disk, and the
file is renamed over the destination in one step.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Callable

from dgfas.errors import DgfasError


def _read_umask() -> int:
    """The process's umask. It can only be read by setting it, so this runs once, at import,
    rather than on every write, where another thread could create a file in between."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(binary_file)`` on a temporary sibling of ``path``, then rename it into place.

    On any failure the temporary file is removed and an existing ``path`` is
    left as it was. ``mkstemp`` creates the file readable by its owner only; the
    result gets the permissions ``open`` would have given it, so results written
    on a shared machine stay readable by the team.
    """
    path = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise DgfasError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        os.fchmod(handle, 0o666 & ~_UMASK)
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """UTF-8 text, written atomically."""
    atomic_write(path, lambda file: file.write(text.encode("utf-8")))
