"""Protocols as data: one validated TOML file per protocol in ``protocols/``.

A protocol names domains by letter (O, C, I, M, S), never by dataset, so the
same file runs on the synthetic stand-ins or on the real corpora; the data
source (:mod:`dgfas.data.sources`) binds letters to datasets.

A protocol's identity is its file's content (:attr:`Protocol.content_hash`),
logged with every run and part of its key: two files that share a ``name``
but differ are two protocols, and are refused where they would fill the same
leaderboard cell.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from dgfas.data.frames import SPLITS
from dgfas.errors import DgfasError
from dgfas.registry import Registry

#: Domain letters and the corpora they stand for.
DOMAINS = {"O": "OULU-NPU", "C": "CASIA-FASD", "I": "Idiap Replay-Attack", "M": "MSU-MFSD", "S": "SiW"}

#: ``leave-one-out-5`` is leave-one-out over the five domains (SiW the fifth): its own kind, so its
#: averages, over sources that include S, never mix with the four-domain ones.
PROTOCOL_KINDS = ("leave-one-out", "leave-one-out-5", "limited-source", "cross-test", "intra")

PROTOCOLS_DIR = Path(__file__).resolve().parent.parent / "protocols"

#: Canonical order of the built-in protocols, used by tables and the benchmark.
LEAVE_ONE_OUT = ("OCI-M", "OMI-C", "OCM-I", "ICM-O")
LEAVE_ONE_OUT_5 = ("OCIS-M", "OMIS-C", "OCMS-I", "ICMS-O", "OCIM-S")
PROTOCOL_ORDER = LEAVE_ONE_OUT + LEAVE_ONE_OUT_5 + ("MI-C", "MI-O", "C-I", "I-C")

_TOP_KEYS = {"name", "title", "kind", "sources", "target", "splits", "frames"}
_SPLIT_ROLES = {"source_train", "source_val", "target_test"}
_FRAME_KEYS = {"train", "eval"}


@dataclass(frozen=True)
class FrameSampling:
    """Frames per video kept for training and evaluation; 0 keeps every frame."""

    train: int = 0
    eval: int = 0


@dataclass(frozen=True)
class Protocol:
    """Which domains and splits play which role in one experiment."""

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

    def as_params(self) -> dict[str, str]:
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


def _domain(path: Path, value: object) -> str:
    if value not in DOMAINS:
        raise DgfasError(f"{path}: unknown domain {value!r}; valid: {sorted(DOMAINS)}")
    return str(value)


def _splits(path: Path, role: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise DgfasError(f"{path}: splits.{role} must be a non-empty list of split names")
    for split in value:
        if split not in SPLITS:
            raise DgfasError(f"{path}: unknown split {split!r} in splits.{role}; valid: {list(SPLITS)}")
    return tuple(value)


def load_protocol_file(path: Path) -> Protocol:
    """Parse and validate one protocol file; every problem is a one-line error."""
    try:
        content = path.read_bytes()
        raw = tomllib.loads(content.decode("utf-8"))
    except FileNotFoundError:
        raise DgfasError(f"{path}: protocol file not found") from None
    except IsADirectoryError:
        raise DgfasError(f"{path}: a folder, not a protocol file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise DgfasError(f"{path}: not valid TOML: {err}") from None
    _check_keys(path, "the protocol", raw, _TOP_KEYS, {"name", "sources", "target", "splits"})
    splits = raw["splits"]
    if not isinstance(splits, dict):
        raise DgfasError(f"{path}: [splits] must be a table")
    _check_keys(path, "[splits]", splits, _SPLIT_ROLES, _SPLIT_ROLES)
    frames = raw.get("frames", {})
    if not isinstance(frames, dict):
        raise DgfasError(f"{path}: [frames] must be a table")
    _check_keys(path, "[frames]", frames, _FRAME_KEYS, set())
    for key, value in frames.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DgfasError(f"{path}: frames.{key} must be a whole number >= 0, got {value!r}")
    kind = raw.get("kind", "leave-one-out")
    if kind not in PROTOCOL_KINDS:
        raise DgfasError(f"{path}: unknown kind {kind!r}; valid: {list(PROTOCOL_KINDS)}")
    if not isinstance(raw["sources"], list) or not raw["sources"]:
        raise DgfasError(f"{path}: sources must be a non-empty list of domain letters")
    sources = tuple(_domain(path, d) for d in raw["sources"])
    target = _domain(path, raw["target"])
    if len(set(sources)) != len(sources):
        raise DgfasError(f"{path}: sources repeat a domain: {list(sources)}")
    if target in sources and kind != "intra":
        raise DgfasError(f"{path}: target {target} is also a source (only kind 'intra' allows that)")
    return Protocol(
        name=str(raw["name"]),
        title=str(raw.get("title", raw["name"])),
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


def get_protocol(name_or_path: str) -> Protocol:
    """A built-in protocol by name, or any protocol file by path.

    A file whose ``name`` is a built-in protocol's must have that protocol's
    content (a copy of it), since its runs would fill the built-in's cells.
    """
    if name_or_path.endswith(".toml"):
        protocol = load_protocol_file(Path(name_or_path))
        if protocol.name in PROTOCOLS:
            check_distinct([get_protocol(protocol.name), protocol])
        return protocol
    protocol = load_protocol_file(PROTOCOLS.get(name_or_path))
    if protocol.name != name_or_path:
        raise DgfasError(f"{protocol.path}: name {protocol.name!r} does not match the file name")
    return protocol
