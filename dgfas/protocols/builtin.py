"""The shipped protocols: found by name in ``protocols/``, in the order tables list them.

Adding a protocol is adding one file to ``protocols/``: its file name is its
name, and its ``kind`` and ``order`` keys place it in tables (kinds in
:data:`PROTOCOL_KINDS` order, then by ``order`` within a kind), so no list of
protocol names is kept in code. A protocol file anywhere else is run by its
path; one whose ``name`` is a shipped protocol's must be a copy of it, since
its runs would fill the same leaderboard cells.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

from dgfas.errors import DgfasError
from dgfas.paths import shipped_data_dir
from dgfas.protocols.parse import load_protocol_file
from dgfas.protocols.protocol import FOLD_SEPARATOR, PROTOCOL_KINDS, Protocol
from dgfas.registry import Registry

PROTOCOLS_DIR = shipped_data_dir("protocols")


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


def in_table_order(protocols: Iterable[Protocol]) -> list[Protocol]:
    """``protocols`` by kind (:data:`PROTOCOL_KINDS`), then ``order`` (those without one last), then name.

    Two protocols of one kind with the same ``order`` are an error naming both files: which row comes
    first would otherwise depend on their names.
    """
    protocols = list(protocols)
    placed: dict[tuple[str, int], Protocol] = {}
    for protocol in protocols:
        if protocol.order is not None:
            other = placed.setdefault((protocol.kind, protocol.order), protocol)
            if other is not protocol:
                raise DgfasError(f"{other.path} and {protocol.path}: two {protocol.kind} protocols with "
                                 f"order = {protocol.order}; give one another place")
    return sorted(protocols, key=lambda p: (PROTOCOL_KINDS.index(p.kind), p.order is None, p.order or 0, p.name))


@functools.cache
def _shipped_in_table_order() -> tuple[Protocol, ...]:
    """The shipped protocols in table order, read once per process."""
    return tuple(in_table_order(get_protocol(name) for name in PROTOCOLS))


def protocol_names(kind: str | None = None, target: str | None = None) -> tuple[str, ...]:
    """The shipped protocols' names in table order; only those of ``kind`` and testing domain ``target``, if given.

    ``protocol_names("leave-one-out")`` is what ``dgfas benchmark`` runs by default;
    ``protocol_names("intra", target="O")`` OULU-NPU's own protocols.
    """
    if kind is not None and kind not in PROTOCOL_KINDS:
        raise DgfasError(f"unknown protocol kind {kind!r}; valid: {list(PROTOCOL_KINDS)}")
    return tuple(p.name for p in _shipped_in_table_order()
                 if (kind is None or p.kind == kind) and (target is None or p.target == target))
