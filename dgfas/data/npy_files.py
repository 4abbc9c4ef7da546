"""One ``.npy`` file of a frame cache: its header, rows appended after it, and the checks every open makes.

Both frame caches (a synthetic domain's, :mod:`dgfas.data.frame_cache`, and a
real corpus's, :mod:`dgfas.data.corpora.cache`) write their arrays with plain
file writes, a header first and then rows, so writing holds one video in
memory however large the array, and read them memory-mapped. What they share
is here: a header that can be rewritten in place as an array grows, and
:func:`npy_problem`, which reads a few hundred bytes whatever the array's size
and names a truncated file, a header that does not parse, or the wrong shape
or dtype before anything is mapped.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np

_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def read_npy_header(file: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) of an open ``.npy`` file, left at its first data byte."""
    version = np.lib.format.read_magic(file)
    if version not in _HEADER_READERS:
        raise ValueError(f".npy format version {version}")
    return _HEADER_READERS[version](file)


def npy_problem(path: Path, dtype: type, shape: tuple[int, ...]) -> str | None:
    """What keeps ``path`` from being a ``.npy`` array of ``dtype`` and ``shape``, as ``"<path>: <what>"``,
    or None: the checks every open of a cache makes.

    Only the header is read (the size comes from the file system), so the
    check costs the same for a 100 GB array: a missing or truncated file, a
    header that does not parse, a shape, dtype or memory order other than
    the cache's, or bytes past the array's end. ``dtype`` ``str`` accepts
    text of any length. A changed byte inside the data passes.
    """
    try:
        with open(path, "rb") as file:
            found_shape, fortran_order, found_dtype = read_npy_header(file)
            data_start, size = file.tell(), os.fstat(file.fileno()).st_size
    except FileNotFoundError:
        return f"{path}: missing"
    except OSError as error:
        return f"{path}: unreadable ({error.strerror or error})"
    except (ValueError, TypeError, SyntaxError):  # numpy's header parser raises these for damaged bytes
        return f"{path}: not a .npy array (its header does not parse)"
    same_dtype = found_dtype.kind == "U" if dtype is str else found_dtype == np.dtype(dtype)
    if not same_dtype or tuple(found_shape) != tuple(shape) or fortran_order:
        wanted = "str" if dtype is str else np.dtype(dtype)
        return f"{path}: holds {found_dtype} {tuple(found_shape)}, expected {wanted} {tuple(shape)}"
    expected_size = data_start + math.prod(shape) * found_dtype.itemsize
    if size != expected_size:
        truncated = "truncated: " if size < expected_size else ""
        return f"{path}: {truncated}{size} bytes, its header promises {expected_size}"
    return None


def npy_header(dtype: type, shape: tuple[int, ...]) -> bytes:
    """A ``.npy`` header; numpy pads it so that any row count up to 21 digits gives the same length, which
    lets a growing array's header be rewritten in place."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape})
    return buffer.getvalue()


class NpyAppender:
    """One ``.npy`` file whose header promises ``rows`` rows, filled by appending."""

    def __init__(self, path: Path, dtype: type, row_shape: tuple[int, ...], rows: int) -> None:
        self.dtype, self.row_shape, self.rows, self.written = np.dtype(dtype), row_shape, rows, 0
        self.digest = hashlib.sha256()
        self.file: BinaryIO = open(path, "wb")
        self.file.write(npy_header(self.dtype, (rows, *row_shape)))

    def append(self, values: np.ndarray) -> None:
        if values.shape[1:] != self.row_shape or values.dtype != self.dtype:
            raise ValueError(f"{self.file.name}: rows of {values.dtype} {values.shape[1:]}, "
                             f"expected {self.dtype} {self.row_shape}")
        if self.written + len(values) > self.rows:
            raise ValueError(f"{self.file.name}: more than the {self.rows} rows announced")
        data = np.ascontiguousarray(values)
        self.digest.update(data)
        self.file.write(data.data)
        self.written += len(values)


def data_digest(path: Path) -> str:
    """sha256 of a ``.npy`` file's data (what :class:`NpyAppender` hashes as it writes), read in blocks."""
    with open(path, "rb") as file:
        read_npy_header(file)
        return hashlib.file_digest(file, "sha256").hexdigest()
