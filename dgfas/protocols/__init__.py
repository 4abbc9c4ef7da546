"""Protocols as data: one validated TOML file per protocol in ``protocols/``.

A protocol names domains by letter (O, C, I, M, S), never by dataset, so the
same file runs on the synthetic stand-ins or on the real corpora; the data
source (:mod:`dgfas.data.sources`) binds letters to datasets. Three modules,
one job each: :mod:`~dgfas.protocols.protocol` (what a protocol is: its roles,
folds and frame sampling), :mod:`~dgfas.protocols.parse` (one file read and
validated) and :mod:`~dgfas.protocols.builtin` (the shipped protocols by name,
and the order tables list them in).
"""

from dgfas.protocols.builtin import (
    PROTOCOLS,
    PROTOCOLS_DIR,
    check_distinct,
    expand_folds,
    get_protocol,
    protocol_names,
    same_name_conflict,
    without_fold,
)
from dgfas.protocols.parse import load_protocol_file
from dgfas.protocols.protocol import (
    FOLD_SEPARATOR,
    INTRA_ROLES,
    PROTOCOL_KINDS,
    Protocol,
    Selection,
)

__all__ = [
    "FOLD_SEPARATOR",
    "INTRA_ROLES",
    "PROTOCOLS",
    "PROTOCOLS_DIR",
    "PROTOCOL_KINDS",
    "Protocol",
    "Selection",
    "check_distinct",
    "expand_folds",
    "get_protocol",
    "load_protocol_file",
    "protocol_names",
    "same_name_conflict",
    "without_fold",
]
