"""Where dgfas keeps its files unless told otherwise, and where it finds the data files it ships.

A module of its own, importing nothing heavy, so that the command line can
show these defaults in its help without loading the benchmark (and torch).
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

from dgfas.errors import DgfasError


def default_cache_dir() -> Path:
    """``$DGFAS_CACHE`` or ``.dgfas/cache`` in the working directory (outside git)."""
    return Path(os.environ.get("DGFAS_CACHE", ".dgfas/cache"))


def default_runs_dir() -> Path:
    """``$DGFAS_RUNS`` or ``.dgfas/runs``: score files, checkpoints and claims of runs."""
    return Path(os.environ.get("DGFAS_RUNS", ".dgfas/runs"))


def shipped_data_dir(name: str) -> Path:
    """The folder of data files dgfas ships under the repository's top-level folder ``name``.

    ``protocols`` (the built-in protocols), ``leaderboards`` (``reported*.csv``,
    the numbers papers print) and ``docs`` (``methods.md``) stay at the top of
    the repository, where readers look for them. A wheel carries them as
    ``dgfas/builtin/<name>`` (``pyproject.toml`` maps them there) and they are
    read from the installed package through :mod:`importlib.resources`. A
    checkout, installed editable or put on ``PYTHONPATH``, has no
    ``dgfas/builtin`` and reads the top-level folder beside its package:
    setuptools' editable install does not put the mapped folders inside the
    package's folder, only behind import names of their own served by its
    import hook, which another checkout's editable install in the same
    environment would answer for.

    Raises:
        DgfasError: neither folder exists (an installation that lacks them).
    """
    shipped = importlib.resources.files(__package__) / "builtin" / name
    if isinstance(shipped, Path) and shipped.is_dir():  # a zipped package would not be a Path; pip unpacks wheels
        return shipped
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise DgfasError(f"dgfas's {name} folder is missing: neither {shipped} (an installed wheel) nor {checkout} "
                     "(a checkout) exists; reinstall dgfas from its wheel or its repository")
