"""What a synthetic domain is made of: its cameras, light sessions, pose range, attacks and frame rate.

The five domains themselves are in :mod:`dgfas.data.synthetic.domains`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dgfas.data.synthetic.camera import Camera
from dgfas.data.synthetic.media import Medium, PrintMedium
from dgfas.data.synthetic.scene import BackgroundStyle

#: A video keeps every third camera frame (see :mod:`dgfas.data.synthetic.domains`).
FRAME_STEP = 3


@dataclass(frozen=True)
class LightSession:
    """A recording session's room light and background.

    Attributes:
        name: e.g. ``adverse``.
        azimuth: |horizontal angle| of the light in degrees (sign random, 0 = frontal).
        elevation: vertical angle of the light in degrees.
        ambient: ambient term range.
        diffuse: directional term range.
        temperature: colour temperature range in kelvin.
        specular: skin specular strength range.
        background: the session's rooms.
    """

    name: str
    azimuth: tuple[float, float]
    elevation: tuple[float, float]
    ambient: tuple[float, float]
    diffuse: tuple[float, float]
    temperature: tuple[float, float]
    specular: tuple[float, float] = (0.05, 0.25)
    background: BackgroundStyle = BackgroundStyle()


@dataclass(frozen=True)
class PoseRange:
    """Head pose distribution: standard deviations in degrees, face size range.

    ``motion`` scales how far the head turns, moves and changes expression
    from one stored frame to the next (:func:`dgfas.data.synthetic.shoot.move_head`); 1 is a person
    holding still for the camera, as in most corpora, and more is a corpus
    whose subjects were asked to turn their heads and change expression.
    """

    yaw: float = 8.0
    pitch: float = 6.0
    roll: float = 4.0
    scale: tuple[float, float] = (0.56, 0.68)
    shift: float = 0.02
    motion: float = 1.0


@dataclass(frozen=True)
class Attack:
    """One attack video per subject group.

    Attributes:
        name: e.g. ``print-warped``.
        medium: the printer/paper or display.
        hand_held: probability the medium is held by hand (else on a stand).
        content_scale: face width as a fraction of the medium's content
            width; larger faces mean a smaller medium and visible borders.
        video: probability that a replay shows a video (content moves)
            rather than a photo.
        tilt: standard deviation of the sheet tilt in degrees.
    """

    name: str
    medium: Medium
    hand_held: float = 0.5
    content_scale: tuple[float, float] = (0.4, 0.6)
    video: float = 0.0
    tilt: float = 10.0

    @property
    def kind(self) -> str:
        return "print" if isinstance(self.medium, PrintMedium) else "replay"


@dataclass(frozen=True)
class Domain:
    """A synthetic dataset's capture model.

    Attributes:
        name: dataset name, e.g. ``synth-oulu``.
        letter: protocol letter (O, C, I, M, S).
        index: position in :data:`dgfas.data.synthetic.domains.DOMAINS`, part of every video's seed.
        cameras: drawn uniformly per video.
        sessions: drawn uniformly per video (also for the source of a spoof).
        pose: head pose distribution.
        attacks: one video of each per subject group (plus one live video),
            which sets the live:spoof proportion.
        frame_rate: camera frames per second of the real counterpart.
        frame_step: a video keeps every ``frame_step``-th camera frame.
        subject_factor: subjects per split as a multiple of the scale's
            (:class:`dgfas.data.synthetic.generate.Scale`), for a corpus that
            films many more people than the others.
    """

    name: str
    letter: str
    index: int
    cameras: tuple[Camera, ...]
    sessions: tuple[LightSession, ...]
    pose: PoseRange
    attacks: tuple[Attack, ...]
    frame_rate: float
    frame_step: int = FRAME_STEP
    subject_factor: int = 1

    @property
    def videos_per_group(self) -> int:
        return 1 + len(self.attacks)

    def attack_device(self, attack: int) -> int:
        """Which of the domain's instruments of its kind attack ``attack`` is: 1, 2, ... in the order of
        :attr:`attacks` (printers and displays counted apart); 0 for a live video (``attack < 0``).

        The real corpora's indexes number their instruments the same way
        (``attack_device``: OULU-NPU's printers and displays 1-2, SiW's
        printers 1-2 and replay devices 1-4), so one selection reads both.
        """
        if attack < 0:
            return 0
        kind = self.attacks[attack].kind
        return sum(other.kind == kind for other in self.attacks[: attack + 1])

    def frame_times(self, frames: int) -> np.ndarray:
        """(frames,) float64 seconds of each stored frame since the video's start."""
        return np.arange(frames) * self.frame_step / self.frame_rate
