"""Where dgfas keeps its files unless told otherwise.

A module of its own, importing nothing heavy, so that the command line can
show these defaults in its help without loading the benchmark (and torch).
"""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """``$DGFAS_CACHE`` or ``.dgfas/cache`` in the working directory (outside git)."""
    return Path(os.environ.get("DGFAS_CACHE", ".dgfas/cache"))


def default_runs_dir() -> Path:
    """``$DGFAS_RUNS`` or ``.dgfas/runs``: score files, checkpoints and claims of runs."""
    return Path(os.environ.get("DGFAS_RUNS", ".dgfas/runs"))
