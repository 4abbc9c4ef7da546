"""Compose a frame's scene with a sheet before the room: an attack medium showing its source, or a live video's panel.

The medium leaves the liveness cues:

* print: gamut compression (paper white, ink black, duller colours),
  halftone dot screens, paper texture, optional gloss glare, bending
  (CASIA's warped photos) and eye holes (CASIA's cut photos);
* display: pixel grid with RGB sub-pixel stripes that alias into moiré,
  pixelation on low-resolution screens, display gamma and white point,
  a black level lifted by the room, viewing-angle falloff, screen glare;
* both: the sheet is flat, so it is lit as a plane (one normal, no face
  relief) and moves as a plane (perspective warp, hand-held jitter),
  as :mod:`dgfas.data.synthetic.sheet` places it.

The same geometry also places a plain panel (poster, picture frame,
monitor) behind live faces, so straight edges are not a spoof cue.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from dgfas.data.synthetic.face_render import Lighting
from dgfas.data.synthetic.media import Look, PrintMedium
from dgfas.data.synthetic.scene import smooth_noise
from dgfas.data.synthetic.sheet import SheetMap, SheetPose, flat_shading, sample


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
