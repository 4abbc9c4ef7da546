"""SiW (Spoof in the Wild) as distributed: one row per ``.mov``, read from its path.

Layout of the root (Liu, Jourabloo and Liu, "Learning Deep Models for Face
Anti-Spoofing: Binary or Auxiliary Supervision", CVPR 2018, and the README of
the SiW release)::

    Train/live/<subject>/<subject>-<sensor>-<type>-<medium>-<session>.mov
    Train/spoof/<subject>/<subject>-<sensor>-<type>-<medium>-<session>.mov
    Test/live/...   Test/spoof/...

``subject`` is a three-digit id, ``type`` 1 live, 2 print, 3 replay; ``sensor``,
``medium`` and ``session`` are integers whose meaning depends on the type
(the README lists them). SiW has no development split. Next to each video
lies a same-named ``.face`` file of per-frame face boxes (format in
:func:`dgfas.data.corpora.faces.read_face_locations`), recorded in the
video's ``face_locations`` column (None where it is missing).
"""

from __future__ import annotations

import re
from pathlib import Path

from dgfas.data.corpora.index import CorpusIndex, VideoEntry, files_below, register_corpus, require_folders
from dgfas.errors import DgfasError

#: folder -> split; SiW ships no dev split, so none is invented here.
SPLIT_FOLDERS = {"Train": "train", "Test": "test"}

#: type number -> (label folder, attack type)
TYPES = {1: ("live", "none"), 2: ("spoof", "print"), 3: ("spoof", "replay")}

_PATH = re.compile(r"^(Train|Test)/(live|spoof)/(\d{3})/(\d{3})-(\d+)-([123])-(\d+)-(\d+)\.(mov|face)$")
_HINT = "Train/ and Test/ holding {live,spoof}/<subject>/<subject>-<sensor>-<type>-<medium>-<session>.mov"


@register_corpus("siw")
def index_siw(root: Path) -> CorpusIndex:
    """Index every SiW video below ``root`` from its folders and name.

    A path is only indexed when its label folder agrees with the type in the
    name and its subject folder with the subject in the name: the two are
    redundant by design, so a disagreement means a misplaced or renamed file,
    which is reported as stray rather than guessed at. ``.face`` files that
    fit the same convention belong to the corpus and are neither indexed nor
    stray.

    Raises:
        DgfasError: ``Train/`` or ``Test/`` is missing, or neither holds a recognisable video.
    """
    require_folders(root, "SiW", tuple(SPLIT_FOLDERS), _HINT)
    videos: list[VideoEntry] = []
    stray: list[str] = []
    files = files_below(root)
    present = set(files)
    for relative in files:
        match = _PATH.match(relative)
        if match is None:
            stray.append(relative)
            continue
        folder, label_folder, subject_folder, subject, sensor, kind, medium, session, extension = match.groups()
        label, attack_type = TYPES[int(kind)]
        if label != label_folder or subject != subject_folder:
            stray.append(relative)
        elif extension == "mov":
            face = f"{relative.removesuffix('.mov')}.face"
            videos.append(VideoEntry(relative, SPLIT_FOLDERS[folder], label, attack_type, int(subject),
                                     {"sensor": int(sensor), "type": int(kind), "medium": int(medium),
                                      "session": int(session), "face_locations": face if face in present else None}))
    if not videos:
        raise DgfasError(f"{root}: does not look like SiW: no video named as expected; expected {_HINT}")
    return CorpusIndex("siw", root, videos, stray)
