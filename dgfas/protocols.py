"""Protocols as data: one validated TOML file per protocol in ``protocols/``.

A protocol names domains by letter (O, C, I, M, S), never by dataset, so the
same file runs on the synthetic stand-ins or on the real corpora; the data
source (:mod:`dgfas.data.sources`) binds letters to datasets.

An ``intra`` protocol (a corpus's own protocols, e.g. OULU-NPU 1-4) names one
domain and, per role (``train``, ``dev``, ``test``), a :class:`Selection` of
its videos by metadata (``split``, ``session``, ``phone``, ``instrument``,
...), optionally narrowed per fold by ``[[folds]]`` tables; the selection is
applied to a dataset's video table by :mod:`dgfas.data.intra`. A fold is
named ``<protocol>@<k>`` (``OULU-P3@2``) wherever a protocol name goes, so
runs of different folds are different runs and cells.

A protocol's identity is its file's content (:attr:`Protocol.content_hash`),
logged with every run and part of its key: two files that share a ``name``
but differ are two protocols, and are refused where they would fill the same
leaderboard cell.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from dgfas.data.frames import SPLITS
from dgfas.errors import DgfasError
from dgfas.paths import shipped_data_dir
from dgfas.registry import Registry

#: Domain letters and the corpora they stand for.
DOMAINS = {"O": "OULU-NPU", "C": "CASIA-FASD", "I": "Idiap Replay-Attack", "M": "MSU-MFSD", "S": "SiW"}

#: ``leave-one-out-5`` is leave-one-out over the five domains (SiW the fifth): its own kind, so its
#: averages, over sources that include S, never mix with the four-domain ones.
PROTOCOL_KINDS = ("leave-one-out", "leave-one-out-5", "limited-source", "cross-test", "intra")

PROTOCOLS_DIR = shipped_data_dir("protocols")

#: Canonical order of the built-in protocols, used by tables and the benchmark.
LEAVE_ONE_OUT = ("OCI-M", "OMI-C", "OCM-I", "ICM-O")
LEAVE_ONE_OUT_5 = ("OCIS-M", "OMIS-C", "OCMS-I", "ICMS-O", "OCIM-S")
OULU_INTRA = ("OULU-P1", "OULU-P2", "OULU-P3", "OULU-P4")
SIW_INTRA = ("SiW-P1", "SiW-P2", "SiW-P3")
PROTOCOL_ORDER = LEAVE_ONE_OUT + LEAVE_ONE_OUT_5 + ("MI-C", "MI-O", "C-I", "I-C") + OULU_INTRA + SIW_INTRA

_TOP_KEYS = {"name", "title", "kind", "sources", "target", "splits", "frames"}
_INTRA_KEYS = {"name", "title", "kind", "domain", "official", "roles", "folds", "frames"}
_SPLIT_ROLES = {"source_train", "source_val", "target_test"}
_FRAME_KEYS = {"train", "eval"}
#: Per-role windows of an intra protocol: only each video's first N frames play that role.
_WINDOW_KEYS = {"train_first", "dev_first"}

#: The roles of an intra protocol, in order; they play source train, source validation and target test.
INTRA_ROLES = ("train", "dev", "test")

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
                   for key in sorted(_WINDOW_KEYS) if getattr(self.frames, key)},
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


def _check_keys(path: Path, where: str, got: dict, valid: set[str], required: set[str]) -> None:
    unknown = sorted(set(got) - valid)
    if unknown:
        raise DgfasError(f"{path}: unknown key(s) {unknown} in {where}; valid: {sorted(valid)}")
    missing = sorted(required - set(got))
    if missing:
        raise DgfasError(f"{path}: missing key(s) {missing} in {where}")


def _domain(path: Path, field: str, value: object) -> str:
    if not isinstance(value, str) or value not in DOMAINS:
        raise DgfasError(f"{path}: {field}: unknown domain {value!r}; valid: {sorted(DOMAINS)}")
    return value


def _name(path: Path, value: object) -> str:
    """A protocol's name: what runs and cells carry, so non-empty text, and without the fold separator."""
    if not isinstance(value, str) or not value.strip() or FOLD_SEPARATOR in value:
        raise DgfasError(f"{path}: name must be non-empty text without {FOLD_SEPARATOR!r}, got {value!r}")
    return value


def _title(path: Path, raw: dict) -> str:
    """The title tables print; the name where none is given."""
    title = raw.get("title", raw["name"])
    if not isinstance(title, str) or not title.strip():
        raise DgfasError(f"{path}: title must be non-empty text, got {title!r}")
    return title


def _splits(path: Path, role: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise DgfasError(f"{path}: splits.{role} must be a non-empty list of split names")
    for split in value:
        if split not in SPLITS:
            raise DgfasError(f"{path}: unknown split {split!r} in splits.{role}; valid: {list(SPLITS)}")
    if len(set(value)) != len(value):
        raise DgfasError(f"{path}: splits.{role} repeats a split: {value}")
    return tuple(value)


def _selection(path: Path, where: str, value: object) -> Selection:
    """A ``[roles.<role>]`` or fold table: column -> a value or a non-empty list of values (text or whole numbers)."""
    if not isinstance(value, dict) or not value:
        raise DgfasError(f"{path}: {where} must be a non-empty table of column = value(s)")
    criteria = []
    for key, raw in value.items():
        values = raw if isinstance(raw, list) else [raw]
        if not values or any(isinstance(v, bool) or not isinstance(v, (str, int)) for v in values):
            raise DgfasError(f"{path}: {where}.{key} must be text, a whole number or a non-empty list of them, "
                             f"got {raw!r}")
        if len(set(values)) != len(values):
            raise DgfasError(f"{path}: {where}.{key} repeats a value: {values}")
        if key == "split" and any(v not in SPLITS for v in values):
            raise DgfasError(f"{path}: {where}.split must name splits of {list(SPLITS)}, got {values}")
        criteria.append((key, tuple(values)))
    return Selection(tuple(sorted(criteria)))


def _intra(path: Path, raw: dict) -> dict:
    """The fields of an intra protocol: its domain, role selections, folds and official protocol number."""
    roles = raw.get("roles")
    if not isinstance(roles, dict):
        raise DgfasError(f"{path}: an intra protocol needs [roles.train], [roles.dev] and [roles.test] tables")
    _check_keys(path, "[roles]", roles, set(INTRA_ROLES), set(INTRA_ROLES))
    selections = {role: _selection(path, f"roles.{role}", roles[role]) for role in INTRA_ROLES}
    for role, selection in selections.items():
        if selection.get("split") is None:
            raise DgfasError(f"{path}: roles.{role} must name its split(s) (split = \"{role}\"), "
                             "which keeps the roles' subjects apart")
    folds = raw.get("folds", [])
    if not isinstance(folds, list) or not all(isinstance(f, dict) for f in folds):
        raise DgfasError(f"{path}: folds must be [[folds]] tables")
    parsed_folds = []
    for number, fold in enumerate(folds, start=1):
        _check_keys(path, f"fold {number}", fold, set(INTRA_ROLES), set())
        narrowing = {}
        for role, table in fold.items():
            selection = _selection(path, f"fold {number}.{role}", table)
            shared = sorted(dict(selection.criteria).keys() & dict(selections[role].criteria).keys())
            if shared:
                raise DgfasError(f"{path}: fold {number} sets {shared} of {role}, already set in [roles.{role}]")
            narrowing[role] = selection
        if not narrowing:
            raise DgfasError(f"{path}: fold {number} selects nothing of its own; give it train, dev or test")
        parsed_folds.append(tuple(sorted(narrowing.items())))
    official = raw.get("official")
    if official is not None and (isinstance(official, bool) or not isinstance(official, int) or official < 1):
        raise DgfasError(f"{path}: official must be the corpus's own protocol number (>= 1), got {official!r}")
    domain = _domain(path, "domain", raw.get("domain"))
    return {
        "sources": (domain,),
        "target": domain,
        "source_train": selections["train"].get("split"),
        "source_val": selections["dev"].get("split"),
        "target_test": selections["test"].get("split"),
        "roles": tuple(selections.items()),
        "folds": tuple(parsed_folds),
        "official": official,
    }


def load_protocol_file(path: Path) -> Protocol:
    """Parse and validate one protocol file; every problem is a one-line error."""
    try:
        content = path.read_bytes()
        raw = tomllib.loads(content.decode("utf-8"))
    except FileNotFoundError:
        raise DgfasError(f"{path}: protocol file not found") from None
    except IsADirectoryError:
        raise DgfasError(f"{path}: a folder, not a protocol file") from None
    except OSError as err:
        raise DgfasError(f"{path}: cannot read ({err.strerror or err})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise DgfasError(f"{path}: not valid TOML: {err}") from None
    kind = raw.get("kind", "leave-one-out")
    if kind not in PROTOCOL_KINDS:
        raise DgfasError(f"{path}: unknown kind {kind!r}; valid: {list(PROTOCOL_KINDS)}")
    frames = raw.get("frames", {})
    if not isinstance(frames, dict):
        raise DgfasError(f"{path}: [frames] must be a table")
    _check_keys(path, "[frames]" if kind == "intra" else "[frames] of a non-intra protocol", frames,
                _FRAME_KEYS | (_WINDOW_KEYS if kind == "intra" else set()), set())
    for key, value in frames.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DgfasError(f"{path}: frames.{key} must be a whole number >= 0, got {value!r}")
    if kind == "intra":
        _check_keys(path, "an intra protocol", raw, _INTRA_KEYS, {"name", "domain", "roles"})
        return Protocol(name=_name(path, raw["name"]), title=_title(path, raw), kind=kind,
                        frames=FrameSampling(**frames), path=path, content_hash=content_hash(content),
                        **_intra(path, raw))
    _check_keys(path, "the protocol", raw, _TOP_KEYS, {"name", "sources", "target", "splits"})
    splits = raw["splits"]
    if not isinstance(splits, dict):
        raise DgfasError(f"{path}: [splits] must be a table")
    _check_keys(path, "[splits]", splits, _SPLIT_ROLES, _SPLIT_ROLES)
    if not isinstance(raw["sources"], list) or not raw["sources"]:
        raise DgfasError(f"{path}: sources must be a non-empty list of domain letters")
    sources = tuple(_domain(path, "sources", d) for d in raw["sources"])
    target = _domain(path, "target", raw["target"])
    if len(set(sources)) != len(sources):
        raise DgfasError(f"{path}: sources repeat a domain: {list(sources)}")
    if target in sources:
        raise DgfasError(f"{path}: target {target} is also a source (an intra protocol names one domain instead)")
    return Protocol(
        name=_name(path, raw["name"]),
        title=_title(path, raw),
        kind=kind,
        sources=sources,
        target=target,
        source_train=_splits(path, "source_train", splits["source_train"]),
        source_val=_splits(path, "source_val", splits["source_val"]),
        target_test=_splits(path, "target_test", splits["target_test"]),
        frames=FrameSampling(**frames),
        path=path,
        content_hash=content_hash(content),
    )


def content_hash(content: bytes) -> str:
    """The first 16 hex digits of the sha256 of a protocol file's bytes."""
    return hashlib.sha256(content).hexdigest()[:16]


def same_name_conflict(name: str, first: tuple[str, str], second: tuple[str, str]) -> DgfasError:
    """The one-line error for two protocol files, each (file, content hash), that share ``name`` but differ."""
    (first_file, first_hash), (second_file, second_hash) = sorted([first, second])
    return DgfasError(
        f"two protocol files named {name!r} with different content would fill the same cells: "
        f"{first_file} (sha256 {first_hash}) and {second_file} (sha256 {second_hash}); give one another name"
    )


def check_distinct(protocols: list[Protocol]) -> None:
    """Refuse protocols that share a name but not a content: in one benchmark they would fill the same cells."""
    seen: dict[str, Protocol] = {}
    for protocol in protocols:
        other = seen.setdefault(protocol.name, protocol)
        if other.content_hash != protocol.content_hash:
            raise same_name_conflict(protocol.name, (str(other.path), other.content_hash),
                                     (str(protocol.path), protocol.content_hash))


def _builtin_registry() -> Registry[Path]:
    registry: Registry[Path] = Registry("protocol")
    for path in sorted(PROTOCOLS_DIR.glob("*.toml")):
        registry.add(path.stem, path)
    return registry


PROTOCOLS = _builtin_registry()


def get_protocol(name_or_path: str, fold: int | None = None) -> Protocol:
    """A built-in protocol by name, or any protocol file by path, at ``fold`` if given.

    A name may carry its fold, ``OULU-P3@2`` (a path ``file.toml@2``); giving
    a fold both ways is an error. A file whose ``name`` is a built-in
    protocol's must have that protocol's content (a copy of it), since its
    runs would fill the built-in's cells.
    """
    base = without_fold(name_or_path)
    if base != name_or_path:
        if fold is not None:
            raise DgfasError(f"protocol {name_or_path!r} names its fold; do not also give fold {fold}")
        return get_protocol(base).with_fold(int(name_or_path[len(base) + 1:]))
    if fold is not None:
        return get_protocol(name_or_path).with_fold(fold)
    if name_or_path.endswith(".toml"):
        protocol = load_protocol_file(Path(name_or_path))
        if protocol.name in PROTOCOLS:
            check_distinct([get_protocol(protocol.name), protocol])
        return protocol
    protocol = load_protocol_file(PROTOCOLS.get(name_or_path))
    if protocol.name != name_or_path:
        raise DgfasError(f"{protocol.path}: name {protocol.name!r} does not match the file name")
    return protocol


def without_fold(run_name: str) -> str:
    """The protocol a run name is of: ``OULU-P3@2`` -> ``OULU-P3``; a name without a fold is returned as is."""
    base, separator, fold = run_name.rpartition(FOLD_SEPARATOR)
    return base if separator and fold.isdigit() else run_name


def expand_folds(name_or_path: str) -> list[str]:
    """``name_or_path``, or one ``<it>@<k>`` per fold where it names a fold protocol without its fold:
    what ``dgfas benchmark --protocols OULU-P3`` runs."""
    protocol = get_protocol(name_or_path)
    if protocol.fold is not None or not protocol.folds:
        return [name_or_path]
    return [f"{name_or_path}{FOLD_SEPARATOR}{k}" for k in range(1, len(protocol.folds) + 1)]
