"""Checkpoint files that load without running code and are refused when damaged.

A checkpoint in a runs folder is resumed from by whoever runs the benchmark
next, so loading one must never execute what the file holds, and a damaged one
must never resume silently with different numbers:

* it is read with ``torch.load(weights_only=True)``, which builds tensors and
  plain Python values (dicts, lists, tuples, numbers, strings, None) and
  refuses anything else, so a planted pickle never runs; a writer turns its
  numpy arrays into tensors first (:meth:`dgfas.training_state.TrainingState.save`);
* ``<checkpoint>.sha256`` beside it holds its digest, in ``sha256sum`` format
  so ``sha256sum -c`` checks it too; the bytes are read once, hashed, and
  unpickled from that same read, so a bit flip is refused before anything is
  unpickled and the file cannot change between the check and the load.

Two files cannot be replaced in one step, and a run can be killed between any
two writes. So the checksum file is written first, vouching for the new
checkpoint and for the ones it already vouched for (the checkpoint still in
place), then the checkpoint, then the checksum file again for the new one
alone: whenever the process dies, the checkpoint on disk is one its checksum
file vouches for, and a rerun resumes instead of refusing.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import Any

import torch

from dgfas.atomic import atomic_write, atomic_write_text
from dgfas.errors import DgfasError

#: A ``sha256sum`` line: the hex digest, two spaces (one and ``*`` in binary mode), the file name.
_CHECKSUM_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")


def checksum_path(path: Path) -> Path:
    """Where the sha256 of checkpoint ``path`` is kept: ``<name>.sha256`` beside it."""
    return path.with_name(f"{path.name}.sha256")


def refusal(path: Path, reason: str) -> DgfasError:
    """The one-line error for a checkpoint that cannot be resumed from, saying why and what to do."""
    return DgfasError(f"{path}: cannot resume from this checkpoint ({reason}); delete it to start the run over")


def save(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (tensors and plain Python values only) to ``path`` and its sha256 beside it, atomically.

    The whole file is built in memory first, since its digest has to be on
    disk before the file is (see the module docstring).
    """
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getbuffer()
    digest = hashlib.sha256(data).hexdigest()
    checksums = checksum_path(path)
    _write_checksums(checksums, path.name, [digest, *_vouched_digests(checksums)])
    atomic_write(path, lambda file: file.write(data))
    _write_checksums(checksums, path.name, [digest])


def load(path: Path) -> Any:
    """What :func:`save` wrote to ``path``, once its sha256 matches the one kept beside it.

    Raises:
        DgfasError: one line naming ``path``, when the checksum file is missing
            (a file of an older dgfas, or not written by dgfas), the digests
            differ (a damaged file), or the file holds anything but tensors and
            plain values (a planted file; nothing in it is run).
    """
    checksums = checksum_path(path)
    try:
        vouched = _read_checksums(checksums)
    except FileNotFoundError:
        raise refusal(path, f"{checksums.name} with its sha256 is missing: "
                            "written by an older dgfas, or not by dgfas") from None
    except OSError as error:
        raise refusal(path, f"cannot read {checksums.name}: {error.strerror}") from None
    try:
        data = path.read_bytes()
    except OSError as error:
        raise refusal(path, f"cannot read it: {error.strerror}") from None
    if vouched is None:
        raise refusal(path, f"{checksums.name} is not a sha256sum file")
    if hashlib.sha256(data).hexdigest() not in vouched:
        raise refusal(path, f"its sha256 is not the one in {checksums.name}: the file is damaged")
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception:  # torch's weights-only unpickler raises several types; none is worth more than this line
        raise refusal(path, "it holds something other than tensors and plain values, which could run code if loaded") \
            from None


def remove(path: Path) -> None:
    """Delete checkpoint ``path`` and its checksum file, if there."""
    path.unlink(missing_ok=True)
    checksum_path(path).unlink(missing_ok=True)


def _read_checksums(checksums: Path) -> set[str] | None:
    """The digests ``checksums`` vouches for; None when a line of it is not a ``sha256sum`` line."""
    lines = checksums.read_text(encoding="utf-8", errors="replace").splitlines()
    matches = [_CHECKSUM_LINE.fullmatch(line) for line in lines]
    if not matches or None in matches:
        return None
    return {match.group(1) for match in matches}


def _vouched_digests(checksums: Path) -> list[str]:
    """The digests an existing checksum file vouches for, to carry over while a new checkpoint replaces the old."""
    try:
        return sorted(_read_checksums(checksums) or ())
    except OSError:  # none yet, or unreadable: nothing on disk it could vouch for
        return []


def _write_checksums(checksums: Path, name: str, digests: list[str]) -> None:
    atomic_write_text(checksums, "".join(f"{digest}  {name}\n" for digest in dict.fromkeys(digests)))
