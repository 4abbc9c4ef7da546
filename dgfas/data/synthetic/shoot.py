"""Shoot one synthetic video: draw its conditions from its domain, then render, present (spoofs) and capture each frame.

Within a domain, everything that is not a liveness cue (camera, light,
background, face pose and size, panels/borders) is drawn from the same
distribution for lives and spoofs: a live video draws a "virtual" attack to
place a panel behind the head exactly where a medium's border would be.

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

from dgfas.data.synthetic.camera import capture, draw_settings, gaussian_blur, resize
from dgfas.data.synthetic.capture_model import LightSession, PoseRange
from dgfas.data.synthetic.compose import compose_medium, compose_panel, medium_content
from dgfas.data.synthetic.domains import DOMAINS
from dgfas.data.synthetic.face_render import Lighting, Pose, render_face
from dgfas.data.synthetic.media import DisplayMedium, PrintMedium, draw_look
from dgfas.data.synthetic.mesh import sample_identity
from dgfas.data.synthetic.pulse import Pulse, draw_pulse, pulse_rng
from dgfas.data.synthetic.scene import make_background
from dgfas.data.synthetic.sheet import SheetPose, sheet_map

#: Fraction of a recording's pulse amplitude that survives a video replay.
REPLAY_PULSE_GAIN = 0.3
#: Samples per scene pixel side when rendering a face. Scenes are at twice
#: the output size already, and the capture's blur and box filter average 2x2
#: scene pixels into one output pixel, so the face's edges are anti-aliased
#: without sub-pixels of their own. A 2x2 supersample costs 4x the render
#: time and changes 256 px frames by 0.3-0.8 grey levels on average
#: (``benchmarks/synthetic_generation.py --compare-ref``).
FACE_SUPERSAMPLE = 1


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
