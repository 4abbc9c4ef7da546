"""Attack media: a printed photo or a display, held as a sheet in front of the camera.

A spoof frame is a render of the subject (the "source photo/video", its own
pose and light) that goes through the medium and is then filmed by the
domain's camera like a live face. The medium leaves the liveness cues:

* print: gamut compression (paper white, ink black, duller colours),
  halftone dot screens, paper texture, optional gloss glare, bending
  (CASIA's warped photos) and eye holes (CASIA's cut photos);
* display: pixel grid with RGB sub-pixel stripes that alias into moiré,
  pixelation on low-resolution screens, display gamma and white point,
  a black level lifted by the room, viewing-angle falloff, screen glare;
* both: the sheet is flat, so it is lit as a plane (one normal, no face
  relief) and moves as a plane (perspective warp, hand-held jitter).

Geometry is in "crop units": the output crop is [0, 1]^2, a medium's content
is a square [0, 1]^2 in (u, v), and ``SheetPose`` says where one lands on the
other. The same geometry also places a plain panel (poster, picture frame,
monitor) behind live faces, so straight edges are not a spoof cue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from dgfas.data.synthetic.render import Lighting
from dgfas.data.synthetic.scene import smooth_noise


@dataclass(frozen=True)
class PrintMedium:
    """A printer + paper; every field is a range drawn per video.

    Attributes:
        name: e.g. ``laser-a4``.
        halftone_period: dot-screen period in output pixels; kept at 2-4 px
            so the screen survives a 64 px crop (real screens are finer).
        halftone_strength: how binary the dots are (0 = continuous tone).
        contrast: reflectance range between ink black and paper white.
        tone: midtone exponent of the printer (dot gain darkens: > 1).
        saturation: colour saturation of the print (gamut).
        black: ink black reflectance.
        paper: paper white tint (r, g, b).
        texture: paper grain amplitude.
        gloss: probability that the paper shows a specular glare.
        glare: glare strength range.
        bend: curvature of a bent sheet, radians per crop width (0 = flat).
        cut_eyes: eye holes through which the attacker's live eyes show.
        margin: white margin around the photo, fraction of its width.
    """

    name: str
    halftone_period: tuple[float, float] = (2.2, 3.2)
    halftone_strength: tuple[float, float] = (0.2, 0.45)
    contrast: tuple[float, float] = (0.75, 0.9)
    tone: tuple[float, float] = (0.9, 1.2)
    saturation: tuple[float, float] = (0.7, 0.95)
    black: tuple[float, float] = (0.03, 0.08)
    paper: tuple[float, float, float] = (1.0, 0.98, 0.94)
    texture: tuple[float, float] = (0.02, 0.05)
    gloss: float = 0.3
    glare: tuple[float, float] = (0.08, 0.25)
    bend: tuple[float, float] = (0.0, 0.0)
    cut_eyes: bool = False
    margin: tuple[float, float] = (0.0, 0.1)


@dataclass(frozen=True)
class DisplayMedium:
    """A screen replaying the source; every field is a range drawn per video.

    Attributes:
        name: e.g. ``ipad-air``.
        pixel_pitch: screen pixel pitch in output pixels; near one pixel it
            aliases against the sensor into moiré.
        subpixel: strength of the RGB stripe pattern.
        row_gap: strength of the dark gaps between pixel rows.
        pixelate: whether the screen's pixels are coarse enough to make the
            content blocky (low-resolution phones and first tablets).
        gamma: display gamma relative to the source's.
        white_point: (r, g, b) of the display's white.
        black_level: black glow plus room light reflected by the glass.
        view_falloff: brightness lost per unit of (1 - cos viewing angle).
        glare: glare strength range (screens are glossy: always some).
        glare_probability: probability of a visible glare.
        bezel: bezel width, fraction of the screen width.
        bezel_colour: (r, g, b) reflectance of the bezel.
    """

    name: str
    pixel_pitch: tuple[float, float] = (0.9, 1.6)
    subpixel: tuple[float, float] = (0.2, 0.45)
    row_gap: tuple[float, float] = (0.05, 0.2)
    pixelate: bool = False
    gamma: tuple[float, float] = (0.85, 1.15)
    white_point: tuple[float, float, float] = (0.95, 1.0, 1.08)
    black_level: tuple[float, float] = (0.03, 0.08)
    view_falloff: tuple[float, float] = (0.3, 0.8)
    glare: tuple[float, float] = (0.1, 0.35)
    glare_probability: float = 0.6
    bezel: tuple[float, float] = (0.04, 0.12)
    bezel_colour: tuple[float, float, float] = (0.06, 0.06, 0.07)


Medium = PrintMedium | DisplayMedium


@dataclass(frozen=True)
class SheetPose:
    """Where a flat (or bent) sheet is, relative to the camera.

    Attributes:
        tilt_x: rotation about the horizontal axis, degrees.
        tilt_y: rotation about the vertical axis, degrees.
        roll: in-plane rotation, degrees.
        shift: (dx, dy) of the face point from the crop centre, crop units.
        width: width of the content square in crop units at zero tilt.
        distance: camera distance in crop units (perspective strength).
        bend: curvature, radians per crop unit (0 = flat).
    """

    tilt_x: float
    tilt_y: float
    roll: float
    shift: tuple[float, float]
    width: float
    distance: float
    bend: float = 0.0

    def jittered(self, rng: np.random.Generator, amount: float) -> "SheetPose":
        """The pose one frame later: ``amount`` 1 is a hand, ~0.05 a stand."""
        return SheetPose(
            tilt_x=self.tilt_x + amount * rng.normal(0.0, 2.0),
            tilt_y=self.tilt_y + amount * rng.normal(0.0, 2.0),
            roll=self.roll + amount * rng.normal(0.0, 1.5),
            shift=(self.shift[0] + amount * rng.normal(0.0, 0.012), self.shift[1] + amount * rng.normal(0.0, 0.012)),
            width=self.width * (1.0 + amount * rng.normal(0.0, 0.02)),
            distance=self.distance,
            bend=self.bend,
        )


@dataclass
class SheetMap:
    """Per capture pixel: where on the sheet it looks, and the sheet's normal there.

    Attributes:
        u, v: (R, R) content coordinates (content square is [0, 1]^2).
        normal: unit normal, x right, y up, z towards the camera: (R, R, 3)
            on a bent sheet, (1, 1, 3) on a flat one (one plane, one normal).
    """

    u: np.ndarray
    v: np.ndarray
    normal: np.ndarray
    _lookups: dict = field(default_factory=dict, repr=False, compare=False)

    def inside(self, margin_u: float = 0.0, margin_v: float = 0.0) -> np.ndarray:
        """(R, R) bool: on the content square grown by the given margins."""
        return (self.u > -margin_u) & (self.u < 1 + margin_u) & (self.v > -margin_v) & (self.v < 1 + margin_v)

    def positions(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """(R, R) float32 row and column each capture pixel reads in a (size, size) content array.

        Clamped to the content (``mode="nearest"`` of ``scipy.ndimage.map_coordinates``);
        non-finite coordinates (a sheet seen edge-on) read the edge too.
        """
        return tuple(
            np.clip(np.nan_to_num(coordinate * np.float32(size) - np.float32(0.5), copy=False, nan=0.0,
                                  posinf=-10.0, neginf=-10.0), 0, size - 1)
            for coordinate in (self.v, self.u)
        )

    def bilinear(self, size: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """Where a bilinear read of a (size, size) content array looks, computed once per size.

        Returns:
            (R, R) flat indices of the top-left, top-right, bottom-left and
            bottom-right texels, and (R, R) weights of the right and of the
            lower texels.
        """
        key = ("bilinear", size)
        if key not in self._lookups:
            rows, cols = self.positions(size)
            row, col = np.minimum(rows.astype(np.int32), size - 2), np.minimum(cols.astype(np.int32), size - 2)
            top_left = row * size + col
            corners = [top_left, top_left + 1, top_left + size, top_left + size + 1]
            self._lookups[key] = (corners, cols - col, rows - row)
        return self._lookups[key]

    def nearest(self, size: int) -> np.ndarray:
        """(R, R) flat index of the texel nearest to each capture pixel's read, computed once per size."""
        key = ("nearest", size)
        if key not in self._lookups:
            rows, cols = self.positions(size)
            half = np.float32(0.5)
            self._lookups[key] = np.floor(rows + half).astype(np.int32) * size + np.floor(cols + half).astype(np.int32)
        return self._lookups[key]


def _rotation(tilt_x: float, tilt_y: float, roll: float) -> np.ndarray:
    ax, ay, az = np.radians([tilt_x, tilt_y, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rx @ ry @ rz


def sheet_map(pose: SheetPose, face_uv: tuple[float, float], res: int) -> SheetMap:
    """Map every pixel of a (res, res) capture to content coordinates.

    The camera looks along +Z (image y down) from the origin; the sheet's
    face point ``face_uv`` sits at (shift, distance). A flat sheet is a
    homography; a bent one is a cylinder about the vertical axis through the
    face point, inverted in closed form along u.
    """
    rot = _rotation(pose.tilt_x, pose.tilt_y, pose.roll)
    d = pose.distance
    plane = np.column_stack([rot[:, 0], rot[:, 1], [pose.shift[0], pose.shift[1], d]])
    intrinsics = np.array([[d, 0.0, 0.5], [0.0, d, 0.5], [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(intrinsics @ plane)
    coords = (np.arange(res, dtype=np.float64) + 0.5) / res
    # (res, res) flat-sheet coordinates of each pixel, crop units from the face point:
    # each homogeneous coordinate is a row term plus a column term
    homogeneous = [
        (row[0] * coords + row[2]).astype(np.float32)[None, :] + (row[1] * coords).astype(np.float32)[:, None]
        for row in inverse
    ]
    a = homogeneous[0] / homogeneous[2]
    b = homogeneous[1] / homogeneous[2]
    # camera frame (x right, y down, z forward) -> lighting frame (y up, z towards camera)
    flip = np.array([1.0, -1.0, -1.0])
    if pose.bend > 1e-6:
        k = np.float32(pose.bend)
        folded = np.abs(k * a) >= 1.0
        a_arc = np.arcsin(np.clip(k * a, -1.0, 1.0)) / k
        # points bent away from the camera look smaller: undo that along v
        b = b * (1.0 + (1.0 - np.cos(k * a_arc)) / k / np.float32(d))
        a = np.where(folded, np.float32(-1e3), a_arc)
        theta = np.where(folded, np.float32(0.0), k * a_arc)
        sine, cosine = np.sin(theta), np.cos(theta)
        # the local normal (sin theta, 0, -cos theta) rotated with the sheet
        normal = np.stack([sine * np.float32(rot[j, 0] * flip[j]) - cosine * np.float32(rot[j, 2] * flip[j])
                           for j in range(3)], axis=-1)
    else:
        normal = (-rot[:, 2] * flip).astype(np.float32).reshape(1, 1, 3)
    u = face_uv[0] + a / np.float32(pose.width)
    v = face_uv[1] + b / np.float32(pose.width)
    return SheetMap(u=u.astype(np.float32, copy=False), v=v.astype(np.float32, copy=False), normal=normal)


def sample(image: np.ndarray, smap: SheetMap, *, nearest: bool = False) -> np.ndarray:
    """Sample a content-space (Rm, Rm[, C]) array at the sheet map's (u, v): bilinear, or nearest texel."""
    size = image.shape[0]
    if image.ndim == 3:
        # channel by channel: a gather from a contiguous plane is several times faster than one of pixels
        return np.stack([sample(np.ascontiguousarray(image[..., c]), smap, nearest=nearest)
                         for c in range(image.shape[2])], axis=-1)
    texels = image.reshape(-1)
    if nearest:
        return texels.take(smap.nearest(size))
    corners, right, below = smap.bilinear(size)
    top, top_right, bottom, bottom_right = (texels.take(index) for index in corners)
    # in place on the gathered arrays: a few large temporaries less per read
    top_right -= top
    top_right *= right
    top += top_right
    bottom_right -= bottom
    bottom_right *= right
    bottom += bottom_right
    bottom -= top
    bottom *= below
    top += bottom
    return top


def flat_shading(smap: SheetMap, lighting: Lighting) -> np.ndarray:
    """(R, R, 3) light falling on the sheet, (1, 1, 3) on a flat one: one plane, no relief."""
    light = np.asarray(lighting.direction, dtype=np.float32)
    light = light / np.linalg.norm(light)
    lambert = np.clip(smap.normal @ light, 0.0, 1.0)
    return (lighting.ambient + lighting.diffuse * lambert)[..., None] * np.asarray(lighting.colour, dtype=np.float32)


@dataclass(frozen=True)
class Look:
    """One video's draw of a medium's ranges (see :class:`PrintMedium`, :class:`DisplayMedium`)."""

    medium: Medium
    values: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


def draw_look(rng: np.random.Generator, medium: Medium) -> Look:
    """Draw every range of ``medium`` once for a video."""
    values = {}
    for name, value in vars(medium).items():
        if isinstance(value, tuple) and len(value) == 2 and all(isinstance(x, (int, float)) for x in value):
            values[name] = float(rng.uniform(value[0], value[1]))
    if isinstance(medium, PrintMedium):
        values["has_glare"] = bool(rng.random() < medium.gloss)
        values["angles"] = rng.uniform(0.0, np.pi / 2) + np.array([np.radians(15), np.radians(75), 0.0])
        values["aspect"] = float(rng.uniform(0.0, 0.25))
    else:
        values["has_glare"] = bool(rng.random() < medium.glare_probability)
        values["aspect"] = float(rng.uniform(0.0, 0.35))
    values["glare_kind"] = int(rng.integers(0, 2))
    values["glare_centre"] = rng.uniform(0.0, 1.0, 2)
    values["glare_size"] = float(rng.uniform(0.12, 0.35))
    values["glare_angle"] = float(rng.uniform(0.0, np.pi))
    return Look(medium=medium, values=values)


def band_extent(look: Look) -> tuple[float, float]:
    """(margin_u, margin_v): the paper margin or bezel around the content square."""
    width = look["margin"] if isinstance(look.medium, PrintMedium) else look["bezel"]
    # rectangular media: the band is wider along one axis (portrait sheets, landscape tablets)
    return width, width + look["aspect"] / 2


def band_reflectance(look: Look) -> np.ndarray:
    """(3,) colour of the band: paper white or bezel."""
    if isinstance(look.medium, PrintMedium):
        return np.asarray(look.medium.paper, dtype=np.float32)
    return np.asarray(look.medium.bezel_colour, dtype=np.float32)


def medium_content(content: np.ndarray, look: Look) -> np.ndarray:
    """What the medium makes of a content frame, before the sheet's geometry and the room.

    A print's reflectance (gamut, tone curve, paper tint) or a display's
    emission (gamma, white point), (Rm, Rm, 3) float32. It depends on the
    content alone, so a still photo is converted once per video.
    """
    if isinstance(look.medium, PrintMedium):
        luma = content.mean(axis=-1, keepdims=True)
        saturated = luma + look["saturation"] * (content - luma)
        reflectance = look["black"] + look["contrast"] * np.clip(saturated, 0.0, 1.0) ** look["tone"]
        return (reflectance * np.asarray(look.medium.paper, dtype=np.float32)).astype(np.float32, copy=False)
    emitted = np.clip(content, 0.0, 1.0) ** look["gamma"] * np.asarray(look.medium.white_point, dtype=np.float32)
    return emitted.astype(np.float32, copy=False)


def paper_grain(rng: np.random.Generator, size: int, look: Look) -> np.ndarray:
    """(size, size) float32 relative variation of a print's reflectance, drawn every frame."""
    noise = smooth_noise(rng, size, size // 4)
    noise *= 0.6
    noise += 0.4 * rng.standard_normal((size, size)).astype(np.float32)
    noise *= look["texture"]
    return noise


def halftone(reflectance: np.ndarray, smap: SheetMap, look: Look, dots_per_unit: float) -> np.ndarray:
    """Apply rotated CMY dot screens, evaluated at each capture pixel's (u, v).

    Evaluating the screen analytically where the camera samples it (instead
    of on the content grid) makes it alias into moiré like a real one.
    """
    ink = np.clip(reflectance, 0.0, 1.0)
    np.subtract(1.0, ink, out=ink)
    frequency = 2 * np.pi * dots_per_unit
    screens = np.empty((3, *smap.u.shape), dtype=np.float32)  # one contiguous plane per ink
    phase = np.empty_like(smap.u)
    for c, angle in enumerate(look["angles"]):
        cosine, sine = float(np.cos(angle)) * frequency, float(np.sin(angle)) * frequency
        np.multiply(smap.u, cosine, out=phase)
        phase += smap.v * sine
        np.cos(phase, out=screens[c])
        np.multiply(smap.v, cosine, out=phase)
        phase -= smap.u * sine
        screens[c] += np.cos(phase, out=phase)
    # a dot is inked where the ink exceeds the screen's threshold 0.5 + 0.25 (cos 2 pi p + cos 2 pi q),
    # with a soft edge: screened = sigmoid(12 (ink - threshold)) = 1 / (1 + exp(3 screens + 6 - 12 ink))
    screened = np.ascontiguousarray(np.moveaxis(screens, 0, -1))
    screened *= 3.0
    screened += 6.0
    screened -= 12.0 * ink
    np.exp(screened, out=screened)
    screened += 1.0
    np.reciprocal(screened, out=screened)
    # printed reflectance: 1 - ((1 - strength) ink + strength screened)
    strength = look["halftone_strength"]
    screened *= strength
    ink *= 1.0 - strength
    ink += screened
    np.subtract(1.0, ink, out=ink)
    return ink


def pixel_grid(smap: SheetMap, look: Look, pixels_per_unit: float) -> np.ndarray:
    """(R, R, 3) multiplicative RGB sub-pixel stripes and row gaps, mean 1."""
    frequency = np.float32(2 * np.pi * pixels_per_unit)
    # stripe c peaks a third of a screen pixel after stripe c - 1
    offsets = np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3], dtype=np.float32)
    stripes = np.cos((smap.u * frequency)[..., None] - offsets)
    stripes *= np.float32(look["subpixel"])
    stripes += 1.0
    stripes *= (1.0 + look["row_gap"] * np.cos(smap.v * frequency))[..., None]
    return stripes


def glare_layer(smap: SheetMap, on_sheet: np.ndarray, look: Look, lighting: Lighting) -> np.ndarray:
    """(R, R, 3) additive reflection of a lamp or window on the sheet; zeros if none."""
    if not look["has_glare"]:
        return np.zeros(smap.u.shape + (3,), dtype=np.float32)
    du = np.nan_to_num(smap.u - float(look["glare_centre"][0]), copy=False, posinf=9.0, neginf=9.0)
    dv = np.nan_to_num(smap.v - float(look["glare_centre"][1]), copy=False, posinf=9.0, neginf=9.0)
    size = look["glare_size"]
    if look["glare_kind"] == 0:
        blob = np.exp(-(du**2 + dv**2) / (2 * size**2))
    else:
        across = dv * float(np.cos(look["glare_angle"])) - du * float(np.sin(look["glare_angle"]))
        blob = 1.0 / (1.0 + np.exp(np.clip((np.abs(across) - size / 2) / (0.2 * size), -30.0, 30.0)))
    strength = look["glare"] * blob * on_sheet
    return (strength[..., None] * np.asarray(lighting.colour, dtype=np.float32)).astype(np.float32, copy=False)


def compose_medium(
    background: np.ndarray,
    shown: np.ndarray,
    content_parsing: np.ndarray,
    look: Look,
    smap: SheetMap,
    pose: SheetPose,
    lighting: Lighting,
    out_size: int,
    rng: np.random.Generator,
    behind: np.ndarray | None = None,
    behind_parsing: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Film-ready scene of a medium in front of ``background``.

    Args:
        background: (R, R, 3) the room behind the sheet, already lit.
        shown: (Rm, Rm, 3) the source photo/video frame as the medium
            shows it (:func:`medium_content`).
        content_parsing: (Rm, Rm) its face parsing.
        look: this video's medium draw.
        smap: the sheet map at R.
        pose: the sheet pose (for the pattern scale).
        lighting: the capture room's light.
        out_size: output crop side S, which sets pattern periods.
        rng: draws a print's paper grain (every frame, as the original pipeline does).
        behind: (Rm, Rm, 3) the attacker's face behind a cut print, aligned
            with the content and lit by the room; shown through eye holes.
        behind_parsing: (Rm, Rm) its parsing.

    Returns:
        scene (R, R, 3) float32, parsing (R, R) uint8 of the face as it
        appears, reflection (R, R, 3) float32 glare layer (also in scene),
        None if the sheet shows no glare.
    """
    margin_u, margin_v = band_extent(look)
    in_content = smap.inside()
    on_sheet = smap.inside(margin_u, margin_v)
    shading = flat_shading(smap, lighting)
    units = pose.width * out_size
    if isinstance(look.medium, PrintMedium):
        grain = paper_grain(rng, shown.shape[0], look)
        grain += 1.0
        face = halftone(sample(shown * grain[..., None], smap), smap, look, units / look["halftone_period"])
        face *= shading
        band = band_reflectance(look) * shading
    else:
        pixels_per_unit = units / look["pixel_pitch"]
        emitted = shown
        if look.medium.pixelate:
            quantised = SheetMap(
                u=(np.floor(smap.u * pixels_per_unit) + 0.5) / pixels_per_unit,
                v=(np.floor(smap.v * pixels_per_unit) + 0.5) / pixels_per_unit,
                normal=smap.normal,
            )
            emitted = sample(emitted, quantised)
        else:
            emitted = sample(emitted, smap)
        facing = np.clip(smap.normal[..., 2:3], 0.0, 1.0)
        face = pixel_grid(smap, look, pixels_per_unit)
        face *= emitted
        face *= 1.0 - look["view_falloff"] * (1.0 - facing)
        # the glass reflects the room: a lifted, room-coloured black level
        face += look["black_level"] * shading
        band = band_reflectance(look) * shading
    parsing = np.where(in_content, sample(content_parsing, smap, nearest=True), 0).astype(np.uint8)
    if behind is not None and behind_parsing is not None:
        holes = sample(ndimage.binary_dilation(content_parsing == 3, iterations=2).astype(np.float32), smap) > 0.5
        holes &= in_content
        face = np.where(holes[..., None], sample(behind, smap), face)
        parsing = np.where(holes, sample(behind_parsing, smap, nearest=True), parsing).astype(np.uint8)
    # the sheet (content, then its band) over the room, written into the face array, which is this frame's own
    scene = np.asarray(face, dtype=np.float32)
    np.copyto(scene, band, where=~in_content[..., None])
    np.copyto(scene, background, where=~on_sheet[..., None])
    if not look["has_glare"]:
        return scene, parsing, None
    reflection = glare_layer(smap, on_sheet, look, lighting)
    scene += reflection
    return scene, parsing, reflection


def compose_panel(
    background: np.ndarray,
    panel: np.ndarray,
    look: Look,
    smap: SheetMap,
    lighting: Lighting,
) -> np.ndarray:
    """A background with a flat panel (poster, frame, monitor) where a medium could be.

    Lives get this with the same geometry and band colours as the domain's
    media, so a straight edge or a white/black band in the frame says nothing
    about liveness.
    """
    margin_u, margin_v = band_extent(look)
    shading = flat_shading(smap, lighting)
    inner = sample(panel, smap) * shading
    band = band_reflectance(look) * shading
    sheet = np.where(smap.inside()[..., None], inner, band)
    return np.where(smap.inside(margin_u, margin_v)[..., None], sheet, background).astype(np.float32, copy=False)
