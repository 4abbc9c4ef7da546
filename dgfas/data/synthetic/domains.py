"""The five synthetic domains and how one video of each is shot.

Each domain is a capture model taken from what its real counterpart is known
for (cameras, rooms and light, attack media, how attacks are held). Ranges
overlap between domains but are shifted, so a model can overfit one domain's
nuisance factors, which is what domain generalisation is about.

Within a domain, everything that is not a liveness cue (camera, light,
background, face pose and size, panels/borders) is drawn from the same
distribution for lives and spoofs: a live video draws a "virtual" attack to
place a panel behind the head exactly where a medium's border would be.

Time: a domain films at its real counterpart's frame rate and a video keeps
every :data:`FRAME_STEP`-th camera frame, so stored frame ``f`` is at
``t = f * frame_step / frame_rate`` seconds (10 fps at 30 fps, 8.33 fps at
25 fps). Consecutive stored frames must not be a thirtieth of a second
apart: a clip of a few stored frames has to span about a second to hold a
heart beat, and 8.33 fps is still above the 6 Hz Nyquist rate of the
fastest pulse (3 Hz, :mod:`dgfas.data.synthetic.pulse`).

Pulse: the skin of a live face is modulated by its heart beat before the
camera, so noise, resolution and compression act on it as on a real rPPG
signal. Prints and photo replays show a still image and carry none (the
attacker's skin seen through a cut print's eye holes, a few pixels, has none
either). A video replay shows a recording of a live person, so its content
carries that person's pulse, attenuated by :data:`REPLAY_PULSE_GAIN`
because the recording camera, the display and the re-capture each lose part
of so small a colour change ("attenuated pulse"; a replay still has a weak
beat, as real ones do). After the medium and the capture camera, a replay's
skin green carries 0.11-0.56 (median 0.21) of the pulse a live face's does
per unit amplitude (seed 0, three subjects per domain). The rPPG training target (``pulse`` of :func:`shoot_video`)
is nevertheless zero for every spoof, as in Liu et al. (CVPR 2018) and as
the depth target is: the target says what a live face shows, not what a
replay happens to leak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dgfas.data.synthetic.camera import Camera, capture, draw_settings, gaussian_blur, resize
from dgfas.data.synthetic.media import (
    DisplayMedium,
    Medium,
    PrintMedium,
    SheetPose,
    compose_medium,
    compose_panel,
    draw_look,
    medium_content,
    sheet_map,
)
from dgfas.data.synthetic.mesh import sample_identity
from dgfas.data.synthetic.pulse import Pulse, draw_pulse, pulse_rng
from dgfas.data.synthetic.render import Lighting, Pose, render_face
from dgfas.data.synthetic.scene import BackgroundStyle, make_background

#: A video keeps every third camera frame (see the module docstring).
FRAME_STEP = 3
#: Fraction of a recording's pulse amplitude that survives a video replay.
REPLAY_PULSE_GAIN = 0.3
#: Samples per scene pixel side when rendering a face. Scenes are at twice
#: the output size already, and the capture's blur and box filter average 2x2
#: scene pixels into one output pixel, so the face's edges are anti-aliased
#: without sub-pixels of their own. A 2x2 supersample costs 4x the render
#: time and changes 256 px frames by 0.3-0.8 grey levels on average
#: (``benchmarks/synthetic_generation.py --compare-ref``).
FACE_SUPERSAMPLE = 1


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
    from one stored frame to the next (:func:`move_head`); 1 is a person
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
        index: position in :data:`DOMAINS`, part of every video's seed.
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


_OFFICE = BackgroundStyle(kinds=(0.3, 0.5, 0.2), brightness=(0.35, 0.75), saturation=(0.05, 0.2))

OULU = Domain(
    name="synth-oulu",
    letter="O",
    index=0,
    # six smartphones' front cameras (Galaxy S6 edge, HTC Desire EYE, MEIZU X5,
    # ASUS Zenfone Selfie, Sony XPERIA C5 Ultra Dual, OPPO N3): 1080p, sharp, own colour
    cameras=(
        Camera("galaxy-s6-edge", blur=(0.25, 0.45), white_balance=(1.05, 1.0, 0.94), saturation=(1.05, 1.2),
               contrast=(0.15, 0.3), sharpen=(0.3, 0.6), jpeg_quality=(85, 95)),
        Camera("htc-desire-eye", white_balance=(0.96, 1.0, 1.07), read_noise=(0.006, 0.014), sharpen=(0.1, 0.3)),
        Camera("meizu-x5", blur=(0.4, 0.7), white_balance=(1.07, 1.0, 0.92), read_noise=(0.008, 0.02)),
        Camera("asus-zenfone-selfie", saturation=(1.1, 1.25), contrast=(0.2, 0.35), gamma=(1.0, 1.15)),
        Camera("xperia-c5-ultra", blur=(0.35, 0.6), white_balance=(0.95, 1.0, 1.09), sharpen=(0.3, 0.6)),
        Camera("oppo-n3", read_noise=(0.01, 0.02), jpeg_quality=(75, 90), white_balance=(1.02, 1.0, 0.97)),
    ),
    # three sessions: open office with window light in front, meeting room with
    # warm lamps, office with window behind (dim, back/side light)
    sessions=(
        LightSession("session1-office", (0, 30), (0, 30), (0.35, 0.5), (0.5, 0.7), (5000, 6500), background=_OFFICE),
        LightSession("session2-meeting-room", (10, 50), (20, 50), (0.3, 0.45), (0.5, 0.7), (2900, 3800),
                     background=BackgroundStyle(kinds=(0.3, 0.4, 0.3), brightness=(0.3, 0.65), saturation=(0.1, 0.3),
                                                hue_bias=(1.05, 1.0, 0.9))),
        LightSession("session3-office-dim", (40, 80), (-10, 20), (0.45, 0.6), (0.2, 0.4), (5500, 7500),
                     background=BackgroundStyle(kinds=(0.4, 0.4, 0.2), brightness=(0.5, 0.9), saturation=(0.0, 0.15))),
    ),
    pose=PoseRange(yaw=8.0, pitch=6.0, roll=4.0, scale=(0.58, 0.68)),
    attacks=(
        Attack("print-1", PrintMedium("printer-1", halftone_period=(2.2, 3.0), saturation=(0.8, 0.95), gloss=0.3),
               content_scale=(0.35, 0.55)),
        Attack("print-2", PrintMedium("printer-2", halftone_period=(2.6, 3.4), saturation=(0.65, 0.85),
                                      contrast=(0.7, 0.85), paper=(1.0, 0.97, 0.9), gloss=0.15),
               content_scale=(0.35, 0.55)),
        Attack("replay-1", DisplayMedium("dell-1905fp", pixel_pitch=(1.2, 1.8), subpixel=(0.25, 0.45),
                                         white_point=(0.95, 1.0, 1.06), glare_probability=0.4, bezel=(0.05, 0.1)),
               content_scale=(0.35, 0.55), video=1.0),
        Attack("replay-2", DisplayMedium("macbook-retina-13", pixel_pitch=(0.7, 1.0), subpixel=(0.15, 0.35),
                                         white_point=(0.97, 1.0, 1.04), glare_probability=0.6, bezel=(0.03, 0.08),
                                         bezel_colour=(0.08, 0.08, 0.09)),
               content_scale=(0.35, 0.55), video=1.0),
    ),
    frame_rate=30.0,
)

CASIA = Domain(
    name="synth-casia",
    letter="C",
    index=1,
    # three qualities: an old USB camera (low), a new USB camera (normal), Sony NEX-5 (high)
    cameras=(
        Camera("usb-low-quality", resolution=(0.35, 0.5), blur=(0.6, 1.0), read_noise=(0.015, 0.03),
               shot_noise=(0.002, 0.005), jpeg_quality=(60, 80), white_balance=(1.06, 1.0, 0.9),
               saturation=(0.8, 1.0), sharpen=(0.0, 0.1)),
        Camera("usb-normal-quality", resolution=(0.6, 0.8), blur=(0.5, 0.8), read_noise=(0.01, 0.02),
               jpeg_quality=(70, 88), white_balance=(1.03, 1.0, 0.94)),
        Camera("sony-nex5-high-quality", blur=(0.25, 0.4), read_noise=(0.003, 0.008), jpeg_quality=(88, 97),
               sharpen=(0.3, 0.6), saturation=(1.0, 1.15)),
    ),
    sessions=(
        LightSession("indoor-natural", (0, 40), (0, 40), (0.4, 0.55), (0.45, 0.65), (4500, 6000),
                     background=BackgroundStyle(kinds=(0.5, 0.3, 0.2), brightness=(0.4, 0.85), saturation=(0.0, 0.15))),
    ),
    pose=PoseRange(yaw=6.0, pitch=5.0, roll=5.0, scale=(0.55, 0.66)),
    attacks=(
        # copper-paper photos, vivid, bent by hand
        Attack("print-warped", PrintMedium("copper-paper-warped", halftone_period=(2.4, 3.4), saturation=(0.95, 1.15),
                                           contrast=(0.8, 0.92), gloss=0.4, bend=(1.0, 2.2), margin=(0.0, 0.06)),
               hand_held=1.0, content_scale=(0.45, 0.7), tilt=8.0),
        # the same photos with the eyes cut out, the attacker's eyes behind
        Attack("print-cut", PrintMedium("copper-paper-cut", halftone_period=(2.4, 3.4), saturation=(0.95, 1.15),
                                        contrast=(0.8, 0.92), gloss=0.4, bend=(0.0, 0.5), cut_eyes=True,
                                        margin=(0.0, 0.06)),
               hand_held=1.0, content_scale=(0.45, 0.7), tilt=8.0),
        # video replay on a first-generation iPad (1024x768: coarse pixels)
        Attack("replay-ipad", DisplayMedium("ipad-1", pixel_pitch=(1.3, 2.0), pixelate=True, subpixel=(0.25, 0.5),
                                            white_point=(0.93, 1.0, 1.1), bezel=(0.05, 0.12)),
               hand_held=0.5, content_scale=(0.45, 0.7), video=1.0),
    ),
    # CASIA-FASD's videos run at 25-30 fps; the lower rate is the harder case
    frame_rate=25.0,
)

REPLAY = Domain(
    name="synth-replay",
    letter="I",
    index=2,
    # a MacBook's built-in 320x240 webcam: low resolution, blue-ish, heavy compression
    cameras=(
        Camera("macbook-webcam-320x240", resolution=(0.4, 0.6), blur=(0.5, 0.9), read_noise=(0.012, 0.025),
               shot_noise=(0.002, 0.004), jpeg_quality=(55, 80), white_balance=(0.94, 1.0, 1.1),
               saturation=(0.75, 0.95), gamma=(0.9, 1.05), contrast=(0.0, 0.15), vignette=(0.1, 0.25)),
    ),
    sessions=(
        LightSession("controlled", (0, 20), (10, 40), (0.5, 0.65), (0.35, 0.5), (3800, 4600),
                     background=BackgroundStyle(kinds=(0.8, 0.2, 0.0), brightness=(0.45, 0.8), saturation=(0.0, 0.1))),
        LightSession("adverse", (40, 85), (-5, 25), (0.2, 0.35), (0.6, 0.85), (5000, 6500),
                     background=BackgroundStyle(kinds=(0.1, 0.4, 0.5), brightness=(0.25, 0.8), saturation=(0.05, 0.3))),
    ),
    pose=PoseRange(yaw=7.0, pitch=6.0, roll=4.0, scale=(0.56, 0.66)),
    attacks=(
        Attack("print", PrintMedium("laser-a4", halftone_period=(2.6, 3.6), halftone_strength=(0.3, 0.55),
                                    saturation=(0.6, 0.85), contrast=(0.7, 0.85), gloss=0.15, margin=(0.02, 0.1)),
               content_scale=(0.5, 0.8)),
        Attack("mobile-photo", DisplayMedium("iphone-3gs", pixel_pitch=(1.6, 2.4), pixelate=True,
                                             white_point=(0.9, 1.0, 1.12), bezel=(0.08, 0.18)),
               content_scale=(0.5, 0.8)),
        Attack("mobile-video", DisplayMedium("iphone-3gs", pixel_pitch=(1.6, 2.4), pixelate=True,
                                             white_point=(0.9, 1.0, 1.12), bezel=(0.08, 0.18)),
               content_scale=(0.5, 0.8), video=1.0),
        Attack("highdef-photo", DisplayMedium("ipad-1", pixel_pitch=(1.3, 2.0), pixelate=True,
                                              white_point=(0.93, 1.0, 1.1), bezel=(0.05, 0.12)),
               content_scale=(0.45, 0.7)),
        Attack("highdef-video", DisplayMedium("ipad-1", pixel_pitch=(1.3, 2.0), pixelate=True,
                                              white_point=(0.93, 1.0, 1.1), bezel=(0.05, 0.12)),
               content_scale=(0.45, 0.7), video=1.0),
    ),
    frame_rate=25.0,
)

MSU = Domain(
    name="synth-msu",
    letter="M",
    index=3,
    # a MacBook Air 13" laptop camera (640x480) and a Nexus 5 front camera (720x480)
    cameras=(
        Camera("macbook-air-640x480", resolution=(0.6, 0.85), blur=(0.4, 0.7), read_noise=(0.008, 0.018),
               jpeg_quality=(75, 90), white_balance=(1.03, 1.0, 0.95), saturation=(0.9, 1.05)),
        Camera("nexus5-front-720x480", resolution=(0.75, 0.95), blur=(0.35, 0.6), read_noise=(0.006, 0.014),
               jpeg_quality=(80, 92), white_balance=(0.98, 1.0, 1.03), saturation=(1.0, 1.15), sharpen=(0.2, 0.5)),
    ),
    sessions=(
        LightSession("lab-indoor", (0, 45), (0, 35), (0.4, 0.55), (0.45, 0.65), (4200, 5600),
                     background=BackgroundStyle(kinds=(0.3, 0.3, 0.4), brightness=(0.3, 0.8), saturation=(0.05, 0.25))),
    ),
    pose=PoseRange(yaw=6.0, pitch=5.0, roll=3.0, scale=(0.57, 0.67)),
    attacks=(
        Attack("printed-photo", PrintMedium("hp-colour-laser-a3", halftone_period=(2.2, 3.0), saturation=(0.75, 0.95),
                                            gloss=0.2, margin=(0.0, 0.08)),
               content_scale=(0.4, 0.65)),
        Attack("replay-ipad-air", DisplayMedium("ipad-air", pixel_pitch=(0.7, 1.1), subpixel=(0.15, 0.35),
                                                white_point=(0.96, 1.0, 1.05), bezel=(0.04, 0.1)),
               content_scale=(0.4, 0.6), video=1.0),
        Attack("replay-iphone-5s", DisplayMedium("iphone-5s", pixel_pitch=(0.8, 1.2), subpixel=(0.15, 0.35),
                                                 white_point=(0.95, 1.0, 1.07), bezel=(0.1, 0.2),
                                                 bezel_colour=(0.1, 0.1, 0.1)),
               content_scale=(0.55, 0.85), video=1.0),
    ),
    frame_rate=30.0,
)

SIW = Domain(
    name="synth-siw",
    letter="S",
    index=4,
    # SiW films at 1080p with two sensors: a Canon EOS T6 (sharp, clean, warm) and a Logitech C920
    # webcam (softer, noisier, auto white balance), so both are near full resolution
    cameras=(
        Camera("canon-eos-t6", blur=(0.2, 0.4), read_noise=(0.003, 0.008), jpeg_quality=(88, 97),
               white_balance=(1.04, 1.0, 0.95), saturation=(1.0, 1.15), sharpen=(0.2, 0.5), vignette=(0.05, 0.2)),
        Camera("logitech-c920", resolution=(0.85, 1.0), blur=(0.4, 0.7), read_noise=(0.008, 0.016),
               jpeg_quality=(75, 90), white_balance=(0.98, 1.0, 1.04), auto_white_balance=(0.7, 1.0)),
    ),
    # one lab, lit by its ceiling lights, alone or with a lamp to one side (SiW's illumination change). The
    # ceiling keeps the lab bright (ambient 0.55-0.7) under the lamp too, so a sheet facing the camera is lit
    # about as brightly as a face. A live frame's panel is dimmed by the sheet's shading while the face is lit
    # once; a spoof's recorded face and room are dimmed alike (print) or not at all (display). Relative to
    # the face, which auto-exposure meters, a spoof's border is thus brighter by one over the sheet's shading:
    # with a dim side-lit lab (ambient 0.25-0.4) that cue lifted the shortcut audit above 0.70 at quick.
    sessions=(
        LightSession("lab-ceiling", (0, 25), (25, 50), (0.55, 0.7), (0.45, 0.6), (4000, 5200),
                     background=BackgroundStyle(kinds=(0.6, 0.3, 0.1), brightness=(0.45, 0.85),
                                                saturation=(0.0, 0.12))),
        LightSession("lab-side-lamp", (35, 70), (0, 25), (0.55, 0.7), (0.55, 0.8), (3000, 4200),
                     background=BackgroundStyle(kinds=(0.6, 0.3, 0.1), brightness=(0.3, 0.75),
                                                saturation=(0.0, 0.12), hue_bias=(1.04, 1.0, 0.94))),
    ),
    # subjects turn their heads and change expression during a video, and stand at several distances
    # (a face from about half to three quarters of the crop)
    pose=PoseRange(yaw=14.0, pitch=8.0, roll=5.0, scale=(0.48, 0.74), shift=0.03, motion=2.5),
    # two printers and four replay devices (the four the SiW paper lists); their order numbers them
    # (attack_device: printers 1-2, replay devices 1-4) as SiW's file names number its media, which lets
    # one selection read both; which real device bears which number is SiW's README's to say, not assumed here.
    # White points: the iPad Pro's True Tone warms its white, the Galaxy S8's OLED is cool, the others sit
    # between; drawn all bluish (blue 1.05-1.1), they made every replay bluer than the lives, a colour cue
    # of S's alone.
    attacks=(
        Attack("print-1", PrintMedium("printer-1", halftone_period=(2.2, 3.0), saturation=(0.8, 1.0), gloss=0.35,
                                      margin=(0.0, 0.06)),
               content_scale=(0.4, 0.65)),
        Attack("print-2", PrintMedium("printer-2", halftone_period=(2.6, 3.4), saturation=(0.7, 0.9),
                                      contrast=(0.72, 0.86), paper=(1.0, 0.97, 0.92), gloss=0.2, margin=(0.0, 0.06)),
               content_scale=(0.4, 0.65)),
        Attack("replay-ipad-pro", DisplayMedium("ipad-pro", pixel_pitch=(0.7, 1.0), subpixel=(0.15, 0.3),
                                                white_point=(1.02, 1.0, 0.97), bezel=(0.04, 0.09)),
               content_scale=(0.4, 0.6), video=1.0),
        Attack("replay-iphone-7", DisplayMedium("iphone-7", pixel_pitch=(0.8, 1.2), subpixel=(0.15, 0.35),
                                                white_point=(0.97, 1.0, 1.04), bezel=(0.1, 0.2),
                                                bezel_colour=(0.1, 0.1, 0.1)),
               content_scale=(0.55, 0.85), video=1.0),
        Attack("replay-galaxy-s8", DisplayMedium("galaxy-s8", pixel_pitch=(0.7, 1.1), subpixel=(0.3, 0.5),
                                                 gamma=(1.0, 1.25), white_point=(0.96, 1.0, 1.08),
                                                 black_level=(0.01, 0.04), bezel=(0.03, 0.08)),
               content_scale=(0.55, 0.85), video=1.0),
        Attack("replay-asus-mb168b", DisplayMedium("asus-mb168b", pixel_pitch=(1.4, 2.0), pixelate=True,
                                                   subpixel=(0.25, 0.45), white_point=(1.0, 1.0, 1.01),
                                                   view_falloff=(0.5, 1.0), glare_probability=0.3,
                                                   bezel=(0.03, 0.07)),
               content_scale=(0.35, 0.55), video=1.0),
    ),
    frame_rate=30.0,
    # SiW films 165 people, three to five times as many as the other four corpora (35-55)
    subject_factor=3,
)

#: All domains in seed order (``Domain.index``).
DOMAINS: dict[str, Domain] = {d.name: d for d in (OULU, CASIA, REPLAY, MSU, SIW)}

# (kelvin, (r, g, b)) anchors of black-body light colours, normalised to max 1
_TEMPERATURES = np.array([2700, 4000, 5500, 6500, 8000], dtype=np.float64)
_COLOURS = np.array(
    [[1.0, 0.74, 0.48], [1.0, 0.87, 0.74], [1.0, 0.97, 0.92], [0.95, 0.97, 1.0], [0.84, 0.9, 1.0]], dtype=np.float64
)


def draw_lighting(rng: np.random.Generator, session: LightSession) -> Lighting:
    """Draw one light from a session's ranges."""
    azimuth = np.radians(rng.uniform(*session.azimuth)) * rng.choice([-1.0, 1.0])
    elevation = np.radians(rng.uniform(*session.elevation))
    # Camera y points down (render.py), so light from above has negative y.
    direction = (
        float(np.sin(azimuth) * np.cos(elevation)),
        float(-np.sin(elevation)),
        float(np.cos(azimuth) * np.cos(elevation)),
    )
    kelvin = rng.uniform(*session.temperature)
    colour = tuple(float(np.interp(kelvin, _TEMPERATURES, _COLOURS[:, c])) for c in range(3))
    return Lighting(
        direction=direction,
        ambient=float(rng.uniform(*session.ambient)),
        diffuse=float(rng.uniform(*session.diffuse)),
        colour=colour,
        specular=float(rng.uniform(*session.specular)),
        shininess=float(rng.uniform(10.0, 40.0)),
    )


def draw_pose(rng: np.random.Generator, pose: PoseRange, scale: float | None = None) -> Pose:
    """Draw a head pose; ``scale`` overrides the face size (source photos)."""
    return Pose(
        yaw=float(rng.normal(0.0, pose.yaw)),
        pitch=float(rng.normal(0.0, pose.pitch)),
        roll=float(rng.normal(0.0, pose.roll)),
        scale=float(rng.uniform(*pose.scale)) if scale is None else scale,
        shift=(float(rng.normal(0.0, pose.shift)), float(rng.normal(0.0, pose.shift))),
        mouth_open=float(rng.uniform(0.0, 0.2)),
    )


def move_head(rng: np.random.Generator, pose: Pose, motion: float = 1.0) -> Pose:
    """The head a frame later: pose jitter and a changing expression, ``motion`` times the usual amount
    (:attr:`PoseRange.motion`; at 1 the draws are those of a person holding still)."""
    return Pose(
        yaw=pose.yaw + float(rng.normal(0.0, 2.0 * motion)),
        pitch=pose.pitch + float(rng.normal(0.0, 1.5 * motion)),
        roll=pose.roll + float(rng.normal(0.0, 1.0 * motion)),
        scale=pose.scale * float(1.0 + rng.normal(0.0, 0.01 * motion)),
        shift=(pose.shift[0] + float(rng.normal(0.0, 0.006 * motion)),
               pose.shift[1] + float(rng.normal(0.0, 0.006 * motion))),
        mouth_open=float(np.clip(pose.mouth_open + rng.normal(0.0, 0.15 * motion), 0.0, 1.0)),
    )


def _lit_background(rng: np.random.Generator, size: int, session: LightSession, lighting: Lighting) -> np.ndarray:
    return make_background(rng, size, session.background) * np.asarray(lighting.colour, dtype=np.float32)


def _source_camera(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """The camera that took the source photo/video: mild blur and colour cast."""
    gains = np.exp(rng.normal(0.0, 0.04, 3)).astype(np.float32)
    return np.clip(gaussian_blur(image, rng.uniform(0.3, 0.8)) * gains, 0.0, 1.0)


@dataclass(frozen=True)
class Video:
    """One video to shoot (the unit of work of a generation pool).

    ``camera`` and ``session`` index the domain's cameras and sessions; None
    draws them from the video's own stream, as the cross-domain stand-ins
    do. Either way the same numbers are drawn, so fixing them (the intra
    stand-in of :mod:`dgfas.data.synthetic.generate`) changes nothing else
    about the video. ``dataset`` names the dataset the video belongs to when
    it is not the domain's own, and prefixes its id.
    """

    domain: str
    subject: int
    index: int
    split: str
    attack: int
    frames: int
    size: int
    seed: int
    camera: int | None = None
    session: int | None = None
    dataset: str | None = None

    @property
    def video_id(self) -> str:
        return f"{self.dataset or self.domain}/s{self.subject:03d}/v{self.index:02d}"


def video_pulse(video: Video) -> Pulse:
    """The heart beat of the person a video films.

    That is the live face's pulse for a live video and the replayed
    recording's for a video replay (shown at :data:`REPLAY_PULSE_GAIN`);
    prints and photo replays show none. Drawn from the video's pulse stream,
    so it is known without rendering.
    """
    domain = DOMAINS[video.domain]
    return draw_pulse(pulse_rng(video.seed, domain.index, video.subject, video.index))


def shoot_video(video: Video) -> dict[str, np.ndarray]:
    """Render, present (spoofs) and capture one video.

    Returns:
        images (F, S, S, 3) uint8, depth (F, S, S) float16, parsing
        (F, S, S) uint8, reflection (F, S, S, 3) float16, pulse (F,) float32
        (the live face's waveform at each frame's time; zeros for spoofs).
    """
    domain = DOMAINS[video.domain]
    pulse = video_pulse(video)
    times = domain.frame_times(video.frames)  # (F,) seconds
    size, res = video.size, 2 * video.size
    identity = sample_identity(np.random.default_rng(np.random.SeedSequence([video.seed, domain.index, video.subject])))
    rng = np.random.default_rng(np.random.SeedSequence([video.seed, domain.index, video.subject, video.index]))
    drawn_camera = int(rng.integers(len(domain.cameras)))
    settings = draw_settings(rng, domain.cameras[drawn_camera if video.camera is None else video.camera])
    drawn_session = int(rng.integers(len(domain.sessions)))
    session = domain.sessions[drawn_session if video.session is None else video.session]
    lighting = draw_lighting(rng, session)
    background = _lit_background(rng, res, session, lighting)
    live = video.attack < 0
    # a live video draws a virtual attack so its panel matches a medium's geometry
    attack = domain.attacks[rng.integers(len(domain.attacks)) if live else video.attack]
    look = draw_look(rng, attack.medium)
    face_scale = float(rng.uniform(*domain.pose.scale))
    content_scale = float(rng.uniform(*attack.content_scale))
    hand = 1.0 if rng.random() < attack.hand_held else 0.05
    sheet = SheetPose(
        tilt_x=float(rng.normal(0.0, attack.tilt)),
        tilt_y=float(rng.normal(0.0, attack.tilt)),
        roll=float(rng.normal(0.0, 4.0)),
        shift=(float(rng.normal(0.0, 0.02)), float(rng.normal(0.0, 0.02))),
        width=face_scale / content_scale,
        distance=float(rng.uniform(2.0, 5.0)),
        bend=float(rng.uniform(*attack.medium.bend)) if isinstance(attack.medium, PrintMedium) else 0.0,
    )
    source_session = domain.sessions[rng.integers(len(domain.sessions))]
    source_lighting = draw_lighting(rng, source_session)
    source_background = _lit_background(rng, res, source_session, source_lighting)
    source_pose = draw_pose(rng, domain.pose, scale=content_scale)
    face_uv = (0.5 + source_pose.shift[0], 0.5 + source_pose.shift[1])
    pose = draw_pose(rng, domain.pose, scale=face_scale)
    moving_content = isinstance(attack.medium, DisplayMedium) and rng.random() < attack.video
    attacker = sample_identity(rng) if isinstance(attack.medium, PrintMedium) and attack.medium.cut_eyes else None

    out = {
        "images": np.zeros((video.frames, size, size, 3), np.uint8),
        "depth": np.zeros((video.frames, size, size), np.float16),
        "parsing": np.zeros((video.frames, size, size), np.uint8),
        "reflection": np.zeros((video.frames, size, size, 3), np.float16),
        "pulse": pulse.waveform(times) if live else np.zeros(video.frames, np.float32),
    }
    if live:
        panel = compose_panel(
            background, source_background, look, sheet_map(sheet, face_uv, res), lighting
        )
    content = behind = behind_parsing = None
    for f in range(video.frames):
        if live:
            pose = move_head(rng, pose, domain.pose.motion) if f else pose
            face = render_face(identity, pose, lighting, res, panel, supersample=FACE_SUPERSAMPLE)
            scene, parsing, reflection = pulse.modulate(face.image, face.parsing, times[f]), face.parsing, None
            out["depth"][f] = resize(face.depth, size)
        else:
            if content is None or moving_content:
                source_pose = move_head(rng, source_pose, domain.pose.motion) if content is not None else source_pose
                source = render_face(identity, source_pose, source_lighting, res, source_background,
                                     supersample=FACE_SUPERSAMPLE)
                recorded = source.image
                if moving_content:
                    recorded = pulse.modulate(recorded, source.parsing, times[f], REPLAY_PULSE_GAIN)
                content, content_parsing = _source_camera(rng, recorded), source.parsing
                shown = medium_content(content, look)
                if attacker is not None:
                    # the attacker holds still behind the print: rendered when the content is
                    behind_face = render_face(attacker, source_pose, lighting, res, source_background,
                                              supersample=FACE_SUPERSAMPLE)
                    behind, behind_parsing = behind_face.image, behind_face.parsing
            frame_sheet = sheet.jittered(rng, hand) if f else sheet
            scene, parsing, reflection = compose_medium(
                background, shown, content_parsing, look, sheet_map(frame_sheet, face_uv, res), frame_sheet,
                lighting, size, rng, behind=behind, behind_parsing=behind_parsing,
            )
        # the scene is this frame's own array
        out["images"][f] = capture(np.clip(scene, 0.0, 1.5, out=scene), settings, rng, size)
        out["parsing"][f] = resize(parsing, size, smooth=False)
        if reflection is not None:
            out["reflection"][f] = resize(reflection, size)
    return out
