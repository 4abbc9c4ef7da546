"""SiW (Spoof in the Wild) as distributed: one row per ``.mov``, read from its path.

Layout of the root (Liu, Jourabloo and Liu, "Learning Deep Models for Face
Anti-Spoofing: Binary or Auxiliary Supervision", CVPR 2018, and the README of
the SiW release)::

    Train/live/<subject>/<subject>-<sensor>-<type>-<medium>-<session>.mov
    Train/spoof/<subject>/<subject>-<sensor>-<type>-<medium>-<session>.mov
    Test/live/...   Test/spoof/...

``subject`` is a three-digit id, ``type`` 1 live, 2 print, 3 replay; ``sensor``,
``medium`` and ``session`` are integers whose meaning depends on the type
(the README lists them). For an attack, ``medium`` is the attack instrument:
printer 1-2 for a print, replay device 1-4 for a replay (the official
Protocol 2 lists of Idiap's ``bob.db.siw`` name ``Test/spoof/001/001-1-3-1-1``
``replay/1``); it is copied to ``attack_device`` (0 for a live video, as in
the OULU-NPU index), so "leave replay device k out" (Protocol 2) and "print
vs replay" (Protocol 3) select on ``attack_type`` and ``attack_device``.

A few official videos carry an extra ``.m`` before the extension
(``Test/live/153/153-2-1-1-1.m.mov``: 16 of the 4,469 videos in the public
lists); they are indexed like the others, their path kept as shipped.

SiW has no development split. Next to each video lies a same-named ``.face``
file of per-frame face boxes (format in
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

_PATH = re.compile(r"^(Train|Test)/(live|spoof)/(\d{3})/(\d{3})-(\d+)-([123])-(\d+)-(\d+)(?:\.m)?\.(mov|face)$")
_HINT = "Train/ and Test/ holding {live,spoof}/<subject>/<subject>-<sensor>-<type>-<medium>-<session>.mov"


def _face_file(relative: str, present: set[str]) -> str | None:
    """The ``.face`` file of video ``relative`` among the ``present`` files, or None."""
    stem = relative.removesuffix(".mov")
    candidates = [f"{stem}.face"]
    if stem.endswith(".m") and f"{stem.removesuffix('.m')}.mov" not in present:
        candidates.append(f"{stem.removesuffix('.m')}.face")
    return next((face for face in candidates if face in present), None)


@register_corpus("siw")
def index_siw(root: Path) -> CorpusIndex:
    """Index every SiW video below ``root`` from its folders and name.

    A path is only indexed when its label folder agrees with the type in the
    name and its subject folder with the subject in the name: the two are
    redundant by design, so a disagreement means a misplaced or renamed file,
    which is reported as stray rather than guessed at. ``.face`` files that
    fit the same convention belong to the corpus and are neither indexed nor
    stray. A ``.m.mov`` video's face file is its same-named ``.m.face``, or
    else the ``.face`` without the ``.m`` when no plain ``.mov`` claims it.

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
            videos.append(VideoEntry(relative, SPLIT_FOLDERS[folder], label, attack_type, int(subject),
                                     {"sensor": int(sensor), "type": int(kind), "medium": int(medium),
                                      "session": int(session), "attack_device": 0 if label == "live" else int(medium),
                                      "face_locations": _face_file(relative, present)}))
    if not videos:
        raise DgfasError(f"{root}: does not look like SiW: no video named as expected; expected {_HINT}")
    return CorpusIndex("siw", root, videos, stray)
