"""MSU-MFSD as distributed: one row per video, read from its name; the split from the shipped client lists.

Layout of the root (Wen, Han and Jain, "Face spoof detection with image
distortion analysis", IEEE TIFS 2015, and the folder tree the corpus ships
with)::

    [scene01/]real/  real_client<ccc>_<camera>_SD_scene01.{mp4,mov}                 70 videos
    [scene01/]attack/attack_client<ccc>_<camera>_SD_<medium>_scene01.{mp4,mov}      210 videos
    train_sub_list.txt   15 client numbers, one a line
    test_sub_list.txt    20 client numbers, one a line

``real/`` and ``attack/`` sit either at the root or inside ``scene01/``
(both copies of the corpus circulate); the two lists are looked for at the
root first, then next to ``real/`` and ``attack/``. ``camera`` is ``android``
(Google Nexus 5, ``.mp4``) or ``laptop`` (MacBook Air webcam, ``.mov``);
``medium`` is ``printed_photo`` (attack type ``print``), ``ipad_video`` or
``iphone_video`` (attack type ``replay``). Each of the 35 clients has 2 live and
6 attack videos. Client numbers have gaps (up to 55), and the client number
is the subject id as is.

The split is the one the corpus defines, by client: there is no dev split,
and the lists are required because the split cannot be read from file names.
Names, lists and attack media agree with Idiap's ``bob.db.msu_mfsd_mod``
2.2.9 (``folds/train_sub_list.txt``, ``folds/test_sub_list.txt``,
``folds/msu_mfsd_mod_{real,attack}vids.txt``; its lists have no newline after
the last number, which the parser here accepts).
"""

from __future__ import annotations

import re
from pathlib import Path

from dgfas.data.corpora.index import CorpusIndex, VideoEntry, files_below, register_corpus
from dgfas.errors import DgfasError

#: list file shipped with the corpus -> split it defines
SPLIT_LISTS = {"train_sub_list.txt": "train", "test_sub_list.txt": "test"}

#: attack medium named in the file -> attack type (both screens are replays)
ATTACK_TYPE_OF_MEDIUM = {"printed_photo": "print", "ipad_video": "replay", "iphone_video": "replay"}

#: where ``real/`` and ``attack/`` may sit below the root, in the order tried
VIDEO_FOLDERS = ("", "scene01")

_REAL = re.compile(r"real/real_client(?P<client>[0-9]{3})_(?P<camera>android|laptop)_SD_scene01\.(?:mp4|mov)")
_ATTACK = re.compile(
    r"attack/attack_client(?P<client>[0-9]{3})_(?P<camera>android|laptop)_SD_"
    r"(?P<medium>printed_photo|ipad_video|iphone_video)_scene01\.(?:mp4|mov)"
)


def _video_folder(root: Path) -> str:
    """The folder (relative to ``root``, ``""`` for the root itself) that holds ``real/`` and ``attack/``."""
    for folder in VIDEO_FOLDERS:
        if (root / folder / "real").is_dir() and (root / folder / "attack").is_dir():
            return folder
    raise DgfasError(f"{root}: does not look like MSU-MFSD: expected real/ and attack/ at the root or in scene01/")


def _read_client_list(path: Path) -> set[int]:
    """Client numbers of one shipped list, one a line; blank lines are skipped, anything else is an error."""
    clients = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        if not line.strip().isdigit():
            raise DgfasError(f"{path}:{number}: expected a client number, got {line.strip()!r}")
        clients.add(int(line))
    return clients


def _split_of_client(root: Path, video_folder: str) -> tuple[dict[int, str], set[str]]:
    """Client -> split from the two shipped lists, and the lists' relative paths (read, so not stray)."""
    split_of_client: dict[int, str] = {}
    list_paths: set[str] = set()
    for list_name, split in SPLIT_LISTS.items():
        candidates = [Path(list_name), Path(video_folder) / list_name]
        found = next((c for c in candidates if (root / c).is_file()), None)
        if found is None:
            raise DgfasError(f"{root}: MSU-MFSD split list {list_name} not found at the root or next to real/ and "
                             f"attack/; it ships with the corpus and defines the {split} clients")
        list_paths.add(found.as_posix())
        for client in _read_client_list(root / found):
            if split_of_client.setdefault(client, split) != split:
                raise DgfasError(f"{root}: MSU-MFSD client {client} is in both {' and '.join(SPLIT_LISTS)}")
    return split_of_client, list_paths


@register_corpus("msu")
def index_msu(root: Path) -> CorpusIndex:
    """Index an MSU-MFSD root; videos of a client in neither list, and unrecognised files, are stray."""
    video_folder = _video_folder(root)
    split_of_client, list_paths = _split_of_client(root, video_folder)
    prefix = f"{video_folder}/" if video_folder else ""
    videos: list[VideoEntry] = []
    stray: list[str] = []
    for relative_path in files_below(root):
        if relative_path in list_paths:
            continue
        name = relative_path.removeprefix(prefix) if relative_path.startswith(prefix) else None
        match = None if name is None else (_REAL.fullmatch(name) or _ATTACK.fullmatch(name))
        if match is None or int(match["client"]) not in split_of_client:
            stray.append(relative_path)
            continue
        medium = match.groupdict().get("medium")
        attack_type = "none" if medium is None else ATTACK_TYPE_OF_MEDIUM[medium]
        videos.append(VideoEntry(
            relative_path=relative_path,
            split=split_of_client[int(match["client"])],
            label="live" if medium is None else "spoof",
            attack_type=attack_type,
            subject=int(match["client"]),
            metadata={"camera": match["camera"], "attack_medium": medium},
        ))
    return CorpusIndex(corpus="msu", root=root, videos=videos, stray=stray)
