"""CASIA-FASD as distributed: one row per ``.avi``, read from its folder and name.

Layout of the root (Zhang et al., "A face antispoofing database with diverse
attacks", ICB 2012, and the folder tree the corpus ships with)::

    train_release/<n>/{1..8,HR_1..HR_4}.avi   n = 1..20   240 videos
    test_release/<n>/ {1..8,HR_1..HR_4}.avi   n = 1..30   360 videos

Every subject folder holds the same twelve videos:

    ====================  ========  =====================
    file                  label     attack
    ====================  ========  =====================
    1, 2, HR_1            live      none
    3, 4, HR_2            spoof     print (warped photo)
    5, 6, HR_3            spoof     print (cut photo)
    7, 8, HR_4            spoof     replay (video on a display)
    ====================  ========  =====================

The file-to-attack table and the quality of each file (odd numbers
``normal``, even numbers ``low``, ``HR_*`` ``high``) follow Idiap's
``bob.db.casia_fasd`` 2.0.9 (``db_mappings`` in its ``__init__.py``:
``real_normal: 1``, ``real_low: 2``, ...).

There is no dev split. Subject folders restart at 1 in ``test_release``, so a
test subject's id is ``20 + n`` (ids 21-50), which is also how
``bob.db.casia_fasd`` numbers them; subject ids are then unique across splits
and subject-disjoint sampling cannot mix a train and a test person.
"""

from __future__ import annotations

import re
from pathlib import Path

from dgfas.data.corpora.index import CorpusIndex, VideoEntry, files_below, register_corpus, require_folders

#: folder -> (split, number of subject folders, offset added to the folder number)
SPLIT_FOLDERS = {"train_release": ("train", 20, 0), "test_release": ("test", 30, 20)}

#: file stem -> (attack_type, the corpus's own attack name)
ATTACK_OF_FILE = {
    "1": ("none", "none"), "2": ("none", "none"), "HR_1": ("none", "none"),
    "3": ("print", "warped_photo"), "4": ("print", "warped_photo"), "HR_2": ("print", "warped_photo"),
    "5": ("print", "cut_photo"), "6": ("print", "cut_photo"), "HR_3": ("print", "cut_photo"),
    "7": ("replay", "video"), "8": ("replay", "video"), "HR_4": ("replay", "video"),
}

#: file stem -> camera quality, as bob.db.casia_fasd maps them
QUALITY_OF_FILE = {
    **{str(k): "normal" for k in (1, 3, 5, 7)},
    **{str(k): "low" for k in (2, 4, 6, 8)},
    **{f"HR_{k}": "high" for k in (1, 2, 3, 4)},
}

_VIDEO = re.compile(r"(?P<folder>train_release|test_release)/(?P<n>[0-9]+)/(?P<stem>HR_[1-4]|[1-8])\.avi")


@register_corpus("casia")
def index_casia(root: Path) -> CorpusIndex:
    """Index a CASIA-FASD root; anything that is not one of the twelve videos of a known subject is stray."""
    require_folders(root, "CASIA-FASD", tuple(SPLIT_FOLDERS),
                    "train_release/<1..20>/ and test_release/<1..30>/ holding 1.avi..8.avi, HR_1.avi..HR_4.avi")
    videos: list[VideoEntry] = []
    stray: list[str] = []
    for relative_path in files_below(root):
        match = _VIDEO.fullmatch(relative_path)
        if match is None:
            stray.append(relative_path)
            continue
        split, subjects, offset = SPLIT_FOLDERS[match["folder"]]
        folder_number = int(match["n"])
        # a subject folder beyond the published count is not part of the corpus as distributed
        if not 1 <= folder_number <= subjects or match["n"] != str(folder_number):
            stray.append(relative_path)
            continue
        attack_type, attack = ATTACK_OF_FILE[match["stem"]]
        videos.append(VideoEntry(
            relative_path=relative_path,
            split=split,
            label="live" if attack_type == "none" else "spoof",
            attack_type=attack_type,
            subject=offset + folder_number,
            metadata={"quality": QUALITY_OF_FILE[match["stem"]], "attack": attack, "file": match["stem"]},
        ))
    return CorpusIndex(corpus="casia", root=root, videos=videos, stray=stray)
