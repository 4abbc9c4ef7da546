"""``dgfas data verify``: every entry of a cache folder read against the checksums written with it.

Opening a cache checks only what a few header bytes and the file sizes show
(truncation, a damaged header, the wrong shape or dtype); a changed byte
inside an array passes. This reads every byte once and compares it with the
digests each cache keeps: the synthetic domains' per-array sha256
(:func:`dgfas.data.frame_cache.verify_frame_cache`) and the real corpora's
per-video sha256 in their journal (:func:`dgfas.data.corpora.cache.verify_cache`).
"""

from __future__ import annotations

from pathlib import Path

from dgfas.data.corpora.cache import verify_cache
from dgfas.data.frame_cache import MANIFEST, verify_frame_cache
from dgfas.errors import DgfasError


def cache_entries(cache_dir: Path) -> list[Path]:
    """Each written entry under ``cache_dir``: a real corpus's cache folder (``real/<name>``, its manifest in
    ``frames/``) or a synthetic domain's frame-cache folder (any other folder holding a manifest)."""
    entries = []
    for manifest in sorted(Path(cache_dir).rglob(MANIFEST)):
        folder = manifest.parent
        if folder.name == "frames" and folder.parent.parent.name == "real":
            entries.append(folder.parent)
        elif not folder.name.endswith(".partial"):
            entries.append(folder)
    return entries


def verify_caches(cache_dir: Path) -> tuple[int, list[str]]:
    """(entries checked, one line per problem found) for every entry under ``cache_dir``."""
    if not Path(cache_dir).is_dir():
        raise DgfasError(f"{cache_dir}: no such cache folder")
    entries = cache_entries(cache_dir)
    problems = []
    for folder in entries:
        problems += verify_cache(folder) if folder.parent.name == "real" else verify_frame_cache(folder)
    return len(entries), problems
