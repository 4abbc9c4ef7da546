"""Atomic writes: whole files only, nothing lost on failure, and the permissions a plain open gives."""

from __future__ import annotations

import os
import stat

import pytest

from dgfas import atomic
from dgfas.atomic import atomic_write, atomic_write_text
from dgfas.errors import DgfasError


def test_result_has_the_permissions_of_a_plain_open(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_UMASK", 0o022)
    atomic_write_text(tmp_path / "board.md", "| a |\n")
    assert stat.S_IMODE(os.stat(tmp_path / "board.md").st_mode) == 0o644
    monkeypatch.setattr(atomic, "_UMASK", 0o077)
    atomic_write_text(tmp_path / "private.md", "x")
    assert stat.S_IMODE(os.stat(tmp_path / "private.md").st_mode) == 0o600


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "scores.csv"
    atomic_write_text(target, "old\n")

    def fail_halfway(file):
        file.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, fail_halfway)
    assert target.read_text() == "old\n"
    assert [path.name for path in tmp_path.iterdir()] == ["scores.csv"]


def test_unwritable_destination_is_one_line_naming_the_file(tmp_path):
    target = tmp_path / "missing" / "board.md"
    with pytest.raises(DgfasError, match=f"cannot write {target}: No such file or directory"):
        atomic_write_text(target, "x")


def test_reading_the_umask_leaves_it_unchanged():
    mask = os.umask(0o027)
    try:
        assert atomic._read_umask() == 0o027
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(mask)
