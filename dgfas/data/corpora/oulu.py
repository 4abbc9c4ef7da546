"""OULU-NPU as distributed: one row per ``.avi``, read from its name.

Layout of the root (Boulkenafet et al., "OULU-NPU: A mobile face presentation
attack database with real-world variations", FG 2017, and the README shipped
with the corpus)::

    Train_files/<phone>_<session>_<user>_<file>.avi   users 01-20   1800 videos
    Dev_files/  <phone>_<session>_<user>_<file>.avi   users 21-35   1350 videos
    Test_files/ <phone>_<session>_<user>_<file>.avi   users 36-55   1800 videos
    Protocols/Protocol_1/{Train,Dev,Test}.txt                     (optional)
    Protocols/Protocol_2/{Train,Dev,Test}.txt
    Protocols/Protocol_3/{Train,Dev,Test}_<k>.txt   k = 1..6 (leave-one-phone-out)
    Protocols/Protocol_4/{Train,Dev,Test}_<k>.txt

``phone`` is 1-6, ``session`` 1-3 (illumination/background), ``user`` two
digits, ``file`` 1 for live, 2-3 for print attacks (printers 1 and 2), 4-5 for
replay attacks (displays 1 and 2); the index names the attack instrument
(``live``, ``print1``, ``print2``, ``replay1``, ``replay2``), which is what
the intra protocols (``protocols/OULU-P*.toml``) select by, with ``phone``
and ``session``, so they work on a copy without ``Protocols/``. Each video may come with a same-named
``.txt`` of eye positions. A protocol list line is ``<label>,<video name>``
with label ``+1`` live, ``-1`` print, ``-2`` replay. The naming and the
file-number meaning agree with Idiap's ``bob.db.oulunpu`` lists
(``lists/Protocol_1/dev/for_scores.lst``: ``1_1_21_2 ... attack/print1/21``,
``1_1_21_4 ... attack/video_replay1/21``).
"""

from __future__ import annotations

import re
from pathlib import Path

from dgfas.data.corpora.index import (
    CorpusIndex,
    OfficialList,
    VideoEntry,
    files_below,
    register_corpus,
    register_official_lists,
    require_folders,
)
from dgfas.errors import DgfasError

#: split -> (folder, first user, last user); users never cross splits, which the file names must respect.
SPLIT_FOLDERS = {"train": ("Train_files", 1, 20), "dev": ("Dev_files", 21, 35), "test": ("Test_files", 36, 55)}

#: file number -> (label, attack type, printer or display number (0 for live), attack instrument)
FILE_KINDS = {
    1: ("live", "none", 0, "live"),
    2: ("spoof", "print", 1, "print1"),
    3: ("spoof", "print", 2, "print2"),
    4: ("spoof", "replay", 1, "replay1"),
    5: ("spoof", "replay", 2, "replay2"),
}

#: protocol-list label -> the file numbers it may name
LIST_LABELS = {"+1": (1,), "-1": (2, 3), "-2": (4, 5)}

_NAME = re.compile(r"^([1-6])_([1-3])_(\d\d)_([1-5])$")
_PROTOCOL_LIST = re.compile(r"^Protocols/Protocol_(?:[12]/(?:Train|Dev|Test)|[34]/(?:Train|Dev|Test)_[1-6])\.txt$")
_HINT = "Train_files/, Dev_files/, Test_files/ holding <phone>_<session>_<user>_<file>.avi"


def _parse_name(stem: str, split: str) -> dict[str, int] | None:
    """The fields of a video name, or None when it does not fit the convention or its split's users."""
    match = _NAME.match(stem)
    if match is None:
        return None
    phone, session, user, file = (int(g) for g in match.groups())
    _, first, last = SPLIT_FOLDERS[split]
    if not first <= user <= last:
        return None
    return {"phone": phone, "session": session, "user": user, "file": file}


@register_corpus("oulu")
def index_oulu(root: Path) -> CorpusIndex:
    """Index every OULU-NPU video below ``root`` from its folder and name.

    The split is the folder, not the user number, because that is how the
    corpus is distributed; a name whose user belongs to another split is
    stray rather than silently moved. Eye-position ``.txt`` files and the
    protocol lists belong to the corpus, so they are neither indexed nor
    stray.

    Raises:
        DgfasError: the split folders are missing, or none holds a recognisable video.
    """
    require_folders(root, "OULU-NPU", tuple(folder for folder, _, _ in SPLIT_FOLDERS.values()), _HINT)
    split_of_folder = {folder: split for split, (folder, _, _) in SPLIT_FOLDERS.items()}
    videos: list[VideoEntry] = []
    stray: list[str] = []
    for relative in files_below(root):
        if _PROTOCOL_LIST.match(relative):
            continue
        parts = relative.split("/")
        split = split_of_folder.get(parts[0]) if len(parts) == 2 else None
        stem, dot, extension = parts[-1].rpartition(".")
        fields = _parse_name(stem, split) if split is not None and dot else None
        if fields is None or extension not in ("avi", "txt"):
            stray.append(relative)
        elif extension == "avi":
            label, attack_type, device, instrument = FILE_KINDS[fields["file"]]
            videos.append(VideoEntry(relative, split, label, attack_type, fields["user"],
                                     {**fields, "attack_device": device, "instrument": instrument}))
    if not videos:
        raise DgfasError(f"{root}: does not look like OULU-NPU: no video named as expected; expected {_HINT}")
    return CorpusIndex("oulu", root, videos, stray)


def oulu_protocol_videos(root: Path, protocol: int, fold: int | None, split: str) -> list[str]:
    """Relative paths (``Train_files/1_1_01_1.avi``, ...) of the videos an official protocol list names.

    Protocols 1 and 2 have one list per split; protocols 3 and 4 have six
    folds (one per held-out phone), so ``fold`` is required for them and
    refused for the others. Each line's label is checked against the file
    number in the name, so a list from another corpus version cannot pass
    unnoticed. Whether the videos are present is left to the caller, who
    joins the paths with :func:`index_oulu`.

    Raises:
        DgfasError: a bad protocol, fold or split, a missing list, or a line that does not parse.
    """
    list_path = _list_path(root, protocol, fold, split)
    if not list_path.is_file():
        raise DgfasError(f"{list_path}: protocol list not found (OULU-NPU ships it under Protocols/)")
    folder = SPLIT_FOLDERS[split][0]
    paths = []
    for number, line in enumerate(list_path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        label, _, stem = (part.strip() for part in line.partition(","))
        fields = _parse_name(stem, split)
        if label not in LIST_LABELS or fields is None or fields["file"] not in LIST_LABELS[label]:
            raise DgfasError(f"{list_path}:{number}: expected '<+1|-1|-2>,<phone>_<session>_<user>_<file>' "
                             f"for a {split} video, got {line.strip()!r}")
        paths.append(f"{folder}/{stem}.avi")
    return paths


def _list_path(root: Path, protocol: int, fold: int | None, split: str) -> Path:
    """``<root>/Protocols/Protocol_<protocol>/<Train|Dev|Test>[_<fold>].txt``; a bad protocol, fold or split is an error."""
    if split not in SPLIT_FOLDERS:
        raise DgfasError(f"OULU-NPU split must be one of {sorted(SPLIT_FOLDERS)}, not {split!r}")
    if protocol in (1, 2):
        if fold is not None:
            raise DgfasError(f"OULU-NPU protocol {protocol} has no folds (got fold {fold})")
        suffix = ""
    elif protocol in (3, 4):
        if fold not in range(1, 7):
            raise DgfasError(f"OULU-NPU protocol {protocol} needs a fold 1-6 (got {fold})")
        suffix = f"_{fold}"
    else:
        raise DgfasError(f"OULU-NPU protocol must be 1, 2, 3 or 4, not {protocol}")
    folder = SPLIT_FOLDERS[split][0]
    return Path(root) / "Protocols" / f"Protocol_{protocol}" / f"{folder.removesuffix('_files')}{suffix}.txt"


@register_official_lists("oulu")
def oulu_official_list(root: Path, protocol: int, fold: int | None, split: str) -> OfficialList | None:
    """The shipped list of ``split`` of Protocol ``protocol`` (at ``fold``), or None for a copy without ``Protocols/``."""
    if not (Path(root) / "Protocols").is_dir():
        return None
    return OfficialList(_list_path(root, protocol, fold, split), oulu_protocol_videos(root, protocol, fold, split))
