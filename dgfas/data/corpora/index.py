"""Indexing a corpus as distributed: its folder tree and file names become one row per video.

Every adapter reads file names only (never opens a video), so indexing
thousands of files takes well under a second and can run before any
decoding. A root that does not look like the corpus is a one-line error
saying what was expected; files the adapter does not recognise are
returned as ``stray`` so the caller reports them instead of silently
indexing or dropping them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from dgfas.atomic import atomic_write_text
from dgfas.data.frames import ATTACK_TYPES, SPLITS
from dgfas.errors import DgfasError
from dgfas.registry import Registry

#: The columns every index has, in this order; a corpus's own metadata follows them.
INDEX_COLUMNS = ("relative_path", "split", "label", "attack_type", "subject")


@dataclass(frozen=True)
class VideoEntry:
    """One video of a corpus.

    Attributes:
        relative_path: path below the corpus root, with ``/`` separators.
        split: one of ``train``, ``dev``, ``test``.
        label: ``live`` or ``spoof``.
        attack_type: ``none``, ``print`` or ``replay`` (any display).
        subject: the corpus's subject id.
        metadata: the corpus's own fields (phone, session, light, ...).
    """

    relative_path: str
    split: str
    label: str
    attack_type: str
    subject: int
    metadata: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.split not in SPLITS or self.label not in ("live", "spoof") or self.attack_type not in ATTACK_TYPES:
            raise ValueError(f"bad entry {self}")
        if (self.label == "live") != (self.attack_type == "none"):
            raise ValueError(f"label and attack type disagree in {self}")


@dataclass(frozen=True)
class CorpusIndex:
    """What an adapter found under a root: the videos, and the files it could not place."""

    corpus: str
    root: Path
    videos: list[VideoEntry]
    stray: list[str]

    def table(self) -> pd.DataFrame:
        """One row per video: :data:`INDEX_COLUMNS`, then the metadata columns sorted by name."""
        rows = [
            {"relative_path": v.relative_path, "split": v.split, "label": v.label, "attack_type": v.attack_type,
             "subject": v.subject, **v.metadata}
            for v in self.videos
        ]
        table = pd.DataFrame(rows, columns=list(INDEX_COLUMNS)) if not rows else pd.DataFrame(rows)
        extra = sorted(c for c in table.columns if c not in INDEX_COLUMNS)
        return table[[*INDEX_COLUMNS, *extra]].sort_values("relative_path", kind="stable").reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Videos per split × label and attack type, and subjects per split: what a corpus description lists."""
        table = self.table()
        counts = table.groupby(["split", "label", "attack_type"]).size().rename("videos").reset_index()
        subjects = table.groupby("split")["subject"].nunique().rename("subjects").reset_index()
        return counts.merge(subjects, on="split")


#: name -> function(root) -> CorpusIndex
CORPORA: Registry[Callable[[Path], CorpusIndex]] = Registry("corpus adapter")
register_corpus = CORPORA.register


@dataclass(frozen=True)
class OfficialList:
    """One list a corpus ships for one of its own protocols: where it is and the videos it names.

    Attributes:
        path: the list file.
        videos: relative paths of the videos it names, as the index writes them.
    """

    path: Path
    videos: list[str]


#: corpus -> function(root, protocol number, fold or None, split) -> the shipped list, or None for a copy
#: without lists. The intra protocols (:mod:`dgfas.data.intra`) are checked against these on real data.
OFFICIAL_LISTS: Registry[Callable[[Path, int, "int | None", str], "OfficialList | None"]] = Registry(
    "corpus with official protocol lists")
register_official_lists = OFFICIAL_LISTS.register


def index_corpus(corpus: str, root: str | Path) -> CorpusIndex:
    """Index ``root`` with the named adapter; a missing root is a one-line error."""
    adapter = CORPORA.get(corpus)
    path = Path(root)
    if not path.is_dir():
        raise DgfasError(f"{path}: not a folder (expected the root of the {corpus} corpus)")
    return adapter(path)


def write_index(index: CorpusIndex | pd.DataFrame, out: str | Path) -> Path:
    """The index (or a table of its rows) as CSV, written atomically; an unwritable place is a one-line error."""
    path = Path(out)
    table = index.table() if isinstance(index, CorpusIndex) else index
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DgfasError(f"cannot write index {path}: {error.strerror or error}") from None
    atomic_write_text(path, table.to_csv(index=False, lineterminator="\n"))
    return path


def files_below(root: Path) -> list[str]:
    """Every file below ``root`` as a sorted ``/``-separated relative path (hidden files skipped)."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def require_folders(root: Path, corpus: str, folders: tuple[str, ...], hint: str) -> None:
    """One-line error unless every folder exists below ``root``."""
    missing = [f for f in folders if not (root / f).is_dir()]
    if missing:
        raise DgfasError(f"{root}: does not look like {corpus}: missing {missing}; expected {hint}")
