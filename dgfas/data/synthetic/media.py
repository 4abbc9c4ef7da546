"""Attack media: the printers and displays an attack shows its source on, and one video's draw of their ranges.

A spoof frame is a render of the subject (the "source photo/video", its own
pose and light) that goes through the medium and is then filmed by the
domain's camera like a live face. Each medium is a set of ranges; a video
draws each range once (:func:`draw_look`), and
:mod:`dgfas.data.synthetic.compose` turns that draw into the medium's cues.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


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
