"""Idiap Replay-Attack as distributed: one row per ``.mov``, read from its folder and name.

Layout of the root (Chingovska et al., "On the effectiveness of local binary
patterns in face anti-spoofing", BIOSIG 2012, and the folder tree the corpus
ships with)::

    train/ real/ client<ccc>_session<ss>_webcam_authenticate_<light>_<take>.mov     60
           attack/{fixed,hand}/attack_<device>_client<ccc>_session<ss>_<sample>_<content>_<light>.mov  300
    devel/ (same)                                                                  60 + 300
    test/  (same)                                                                  80 + 400
    enroll/ ...                                                                    (not indexed)

``light`` is ``controlled`` or ``adverse``; ``take`` the repetition (1, 2).
For attacks, ``device`` is what showed the face to the camera: ``print``
(paper, so attack type ``print``), ``mobile`` (iPhone) or ``highdef`` (iPad),
both displays, so attack type ``replay``. ``sample`` is the camera that took
the photo or video being shown and ``content`` is ``photo`` or ``video``;
``fixed``/``hand`` is the support, the attack device on a stand or held in a
hand. These field positions are the ones Idiap's ``bob.db.replay`` 3.0.9
parses (``create.py``: ``attack_device = v[1]``, ``sample_device = v[4]``,
``sample_type = v[5]``, ``light = v[6]``, support from the parent folder).

``devel`` is the dev split. Clients are numbered once for the whole corpus
(15 train, 15 devel, 20 test, disjoint), so the client number is the subject id
as is. ``enroll/`` holds the face-verification enrolment videos (Bob's
``cls='enroll'``), which are not presentation-attack data: its files are
neither indexed nor reported as stray.

Idiap distributes the face locations as a separate package, unpacked into
the root as ``face-locations/``, a tree that mirrors the videos' (``.face``
for ``.mov``, format in :func:`dgfas.data.corpora.faces.read_face_locations`).
A video's face file, when there is one, is recorded in its
``face_locations`` column; face files that match no indexed video are stray,
and those of ``enroll/`` are skipped like the videos.
"""

from __future__ import annotations

import re
from pathlib import Path

from dgfas.data.corpora.index import CorpusIndex, VideoEntry, files_below, register_corpus, require_folders

#: corpus folder -> split
SPLIT_FOLDERS = {"train": "train", "devel": "dev", "test": "test"}

#: attack device named in the file -> attack type (both screens are replays, whatever they show)
ATTACK_TYPE_OF_DEVICE = {"print": "print", "mobile": "replay", "highdef": "replay"}

#: folder of verification enrolment videos, not used for presentation-attack detection
ENROLL_FOLDER = "enroll"

#: folder of Idiap's face-locations package, mirroring the video tree
FACE_FOLDER = "face-locations"

_SPLIT = "(?P<split>train|devel|test)"
_REAL = re.compile(
    _SPLIT + r"/real/client(?P<client>[0-9]{3})_session(?P<session>[0-9]{2})_webcam_authenticate_"
    r"(?P<light>controlled|adverse)_(?P<take>[0-9]+)\.mov"
)
_ATTACK = re.compile(
    _SPLIT + r"/attack/(?P<support>fixed|hand)/attack_(?P<device>print|mobile|highdef)_client(?P<client>[0-9]{3})"
    r"_session(?P<session>[0-9]{2})_(?P<sample>highdef|mobile)_(?P<content>photo|video)"
    r"_(?P<light>controlled|adverse)\.mov"
)


@register_corpus("replay")
def index_replay(root: Path) -> CorpusIndex:
    """Index a Replay-Attack root; ``enroll/`` is skipped; unrecognised files and unmatched face files are stray."""
    require_folders(root, "Replay-Attack", tuple(SPLIT_FOLDERS),
                    "train/, devel/, test/ each holding real/ and attack/{fixed,hand}/ .mov files")
    videos: list[VideoEntry] = []
    stray: list[str] = []
    files = files_below(root)
    face_files = {p for p in files if p.startswith(f"{FACE_FOLDER}/") and not p.startswith(f"{FACE_FOLDER}/{ENROLL_FOLDER}/")}
    for relative_path in files:
        if relative_path.startswith((f"{ENROLL_FOLDER}/", f"{FACE_FOLDER}/")):
            continue
        face_file = f"{FACE_FOLDER}/{relative_path.removesuffix('.mov')}.face"
        face_locations = face_file if face_file in face_files else None
        if (match := _REAL.fullmatch(relative_path)) is not None:
            videos.append(VideoEntry(
                relative_path=relative_path,
                split=SPLIT_FOLDERS[match["split"]],
                label="live",
                attack_type="none",
                subject=int(match["client"]),
                # attack-only fields are None so every row has the same columns
                metadata={"light": match["light"], "session": int(match["session"]), "take": int(match["take"]),
                          "support": None, "attack_device": None, "sample_device": None, "content": None,
                          "face_locations": face_locations},
            ))
        elif (match := _ATTACK.fullmatch(relative_path)) is not None:
            videos.append(VideoEntry(
                relative_path=relative_path,
                split=SPLIT_FOLDERS[match["split"]],
                label="spoof",
                attack_type=ATTACK_TYPE_OF_DEVICE[match["device"]],
                subject=int(match["client"]),
                metadata={"light": match["light"], "session": int(match["session"]), "take": None,
                          "support": match["support"], "attack_device": match["device"],
                          "sample_device": match["sample"], "content": match["content"],
                          "face_locations": face_locations},
            ))
        else:
            stray.append(relative_path)
            continue
        face_files.discard(face_locations)
    return CorpusIndex(corpus="replay", root=root, videos=videos, stray=sorted([*stray, *face_files]))
