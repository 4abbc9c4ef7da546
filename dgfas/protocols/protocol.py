"""What a protocol is: which domains, splits and videos play which role in one experiment.

The dataclasses here are what :mod:`dgfas.protocols.parse` builds from a
protocol file and what a run reads its roles from, kept apart from the parser
so that a run's code reads them without the file format, and from the
shipped protocols' registry (:mod:`dgfas.protocols.builtin`).

An ``intra`` protocol (a corpus's own protocols, e.g. OULU-NPU 1-4) names one
domain and, per role (``train``, ``dev``, ``test``), a :class:`Selection` of
its videos by metadata (``split``, ``session``, ``phone``, ``instrument``,
...), optionally narrowed per fold; the selection is applied to a dataset's
video table by :mod:`dgfas.data.intra`. A fold is named ``<protocol>@<k>``
(``OULU-P3@2``) wherever a protocol name goes, so runs of different folds are
different runs and cells.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from dgfas.errors import DgfasError

#: ``leave-one-out-5`` is leave-one-out over the five domains (SiW the fifth): its own kind, so its
#: averages, over sources that include S, never mix with the four-domain ones. Tables list kinds in this order.
PROTOCOL_KINDS = ("leave-one-out", "leave-one-out-5", "limited-source", "cross-test", "intra")

#: The roles of an intra protocol, in order; they play source train, source validation and target test.
INTRA_ROLES = ("train", "dev", "test")

#: Per-role windows of an intra protocol: only each video's first N frames play that role.
WINDOW_KEYS = ("dev_first", "train_first")

#: Separates a protocol's name from a fold number: ``OULU-P3@2``.
FOLD_SEPARATOR = "@"


@dataclass(frozen=True)
class Selection:
    """The videos of one role: those whose metadata column ``key`` takes one of ``values``, for every key.

    Attributes:
        criteria: (column, allowed values) pairs, sorted by column.
    """

    criteria: tuple[tuple[str, tuple[str | int, ...]], ...]

    def merged(self, other: "Selection") -> "Selection":
        """Both selections' criteria at once (the keys must differ; the parser checks that)."""
        return Selection(tuple(sorted(self.criteria + other.criteria)))

    def describe(self) -> str:
        """``instrument=live,print1;session=1,2;split=train``: the canonical text logged with runs."""
        return ";".join(f"{key}={','.join(str(v) for v in values)}" for key, values in self.criteria)

    def get(self, key: str) -> tuple[str | int, ...] | None:
        return dict(self.criteria).get(key)


@dataclass(frozen=True)
class FrameSampling:
    """Frames per video kept for training and evaluation; 0 keeps every frame.

    An intra protocol may also keep only the first ``train_first`` (``dev_first``) frames of each
    train (dev) video, counted in the video's own frames (SiW Protocol 1 trains on the first 60);
    0 keeps the whole video. ``train`` and ``eval`` then sample within that window
    (:func:`dgfas.data.intra.load_role_frames`).
    """

    train: int = 0
    eval: int = 0
    train_first: int = 0
    dev_first: int = 0

    def first(self, role: str) -> int:
        """The window of ``role`` (``train``, ``dev``, ``test``) in video frames; 0: the whole video."""
        return {"train": self.train_first, "dev": self.dev_first}.get(role, 0)


@dataclass(frozen=True)
class Protocol:
    """Which domains and splits play which role in one experiment.

    An ``intra`` protocol's one domain is both its ``sources`` and its ``target``, and its split
    tuples are the splits its roles name; ``roles`` holds each role's :class:`Selection`,
    ``folds`` each fold's narrowing of the roles, ``fold`` the fold chosen (None: none, or
    a protocol without folds) and ``official`` the corpus's own protocol number, whose
    shipped lists must select the same videos (:func:`dgfas.data.intra.check_official`).
    ``order`` is its place among the shipped protocols of its kind in tables (None: after
    those that have one, by name); it is not part of a run's parameters.
    """

    name: str
    title: str
    kind: str
    sources: tuple[str, ...]
    target: str
    source_train: tuple[str, ...]
    source_val: tuple[str, ...]
    target_test: tuple[str, ...]
    frames: FrameSampling
    path: Path
    content_hash: str
    roles: tuple[tuple[str, Selection], ...] = ()
    folds: tuple[tuple[tuple[str, Selection], ...], ...] = ()
    fold: int | None = None
    official: int | None = None
    order: int | None = None

    @property
    def run_name(self) -> str:
        """The name runs and cells carry: ``OULU-P3@2`` for a fold, else :attr:`name`."""
        return self.name if self.fold is None else f"{self.name}{FOLD_SEPARATOR}{self.fold}"

    def selection(self, role: str) -> Selection:
        """An intra protocol's selection for ``role``, narrowed by the chosen fold's."""
        selection = dict(self.roles)[role]
        if self.fold is not None:
            narrowing = dict(self.folds[self.fold - 1]).get(role)
            if narrowing is not None:
                selection = selection.merged(narrowing)
        return selection

    def with_fold(self, fold: int | None) -> "Protocol":
        """This protocol at ``fold`` (1-based); a fold it does not have is a one-line error."""
        if fold is None:
            return self
        if not self.folds:
            raise DgfasError(f"{self.path}: protocol {self.name} has no folds (asked for fold {fold})")
        if isinstance(fold, bool) or not isinstance(fold, int) or not 1 <= fold <= len(self.folds):
            raise DgfasError(f"{self.path}: protocol {self.name} has folds 1-{len(self.folds)}, not {fold!r}")
        return dataclasses.replace(self, fold=fold, title=f"{self.title} fold {fold}")

    def as_params(self) -> dict[str, str]:
        if self.kind == "intra":
            return {
                "protocol": self.run_name,
                "protocol_hash": self.content_hash,
                "protocol.domain": self.target,
                "protocol.fold": "" if self.fold is None else str(self.fold),
                **{f"protocol.{role}": self.selection(role).describe() for role in INTRA_ROLES},
                "protocol.frames_train": str(self.frames.train),
                "protocol.frames_eval": str(self.frames.eval),
                # logged only where set, so protocols without a window keep the params (and run keys) they had
                **{f"protocol.frames_{key}": str(getattr(self.frames, key))
                   for key in WINDOW_KEYS if getattr(self.frames, key)},
            }
        return {
            "protocol": self.name,
            "protocol_hash": self.content_hash,
            "protocol.sources": ",".join(self.sources),
            "protocol.target": self.target,
            "protocol.source_train": ",".join(self.source_train),
            "protocol.source_val": ",".join(self.source_val),
            "protocol.target_test": ",".join(self.target_test),
            "protocol.frames_train": str(self.frames.train),
            "protocol.frames_eval": str(self.frames.eval),
        }
