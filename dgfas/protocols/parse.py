"""Reading one protocol file: its TOML parsed and validated into a :class:`Protocol`.

Every problem is a one-line error naming the file and the key, so a typo in a
protocol never runs an experiment other than the one written down. A protocol
names domains by letter (:data:`dgfas.data.sources.DOMAINS`), never by
dataset, so the same file runs on the synthetic stand-ins or on the real
corpora. A protocol's identity is its file's content
(:attr:`Protocol.content_hash`), logged with every run and part of its key.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

from dgfas.data.frames import SPLITS
from dgfas.data.sources import DOMAINS
from dgfas.errors import DgfasError
from dgfas.protocols.protocol import (
    FOLD_SEPARATOR,
    INTRA_ROLES,
    PROTOCOL_KINDS,
    WINDOW_KEYS,
    FrameSampling,
    Protocol,
    Selection,
)

_TOP_KEYS = {"name", "title", "kind", "order", "sources", "target", "splits", "frames"}
_INTRA_KEYS = {"name", "title", "kind", "order", "domain", "official", "roles", "folds", "frames"}
_SPLIT_ROLES = {"source_train", "source_val", "target_test"}
_FRAME_KEYS = {"train", "eval"}


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


def _order(path: Path, raw: dict) -> int | None:
    """The protocol's place among its kind's in tables: a whole number >= 1, or None where not given."""
    order = raw.get("order")
    if order is not None and (isinstance(order, bool) or not isinstance(order, int) or order < 1):
        raise DgfasError(f"{path}: order must be a whole number >= 1 (its place among its kind's), got {order!r}")
    return order


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
                _FRAME_KEYS | (set(WINDOW_KEYS) if kind == "intra" else set()), set())
    for key, value in frames.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DgfasError(f"{path}: frames.{key} must be a whole number >= 0, got {value!r}")
    if kind == "intra":
        _check_keys(path, "an intra protocol", raw, _INTRA_KEYS, {"name", "domain", "roles"})
        return Protocol(name=_name(path, raw["name"]), title=_title(path, raw), kind=kind,
                        frames=FrameSampling(**frames), path=path, content_hash=content_hash(content),
                        order=_order(path, raw), **_intra(path, raw))
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
        order=_order(path, raw),
    )


def content_hash(content: bytes) -> str:
    """The first 16 hex digits of the sha256 of a protocol file's bytes."""
    return hashlib.sha256(content).hexdigest()[:16]


