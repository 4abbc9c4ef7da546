"""Backgrounds: the room behind a live head, behind an attack medium, and inside a source photo.

Every background comes from the same generator whatever the label, so the
scene is never a liveness cue. Rooms have straight edges (doors, windows,
shelves, posters) so that straight lines in a frame do not mean "medium".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class BackgroundStyle:
    """A domain's rooms.

    Attributes:
        kinds: probabilities of ``plain`` (a wall), ``room`` (wall with
            straight-edged objects) and ``clutter`` (busy, blurred office).
        brightness: wall brightness range.
        saturation: wall colour saturation range.
        hue_bias: mean (r, g, b) multiplier of wall colours (warm offices,
            blue-grey labs).
    """

    kinds: tuple[float, float, float] = (0.4, 0.4, 0.2)
    brightness: tuple[float, float] = (0.35, 0.8)
    saturation: tuple[float, float] = (0.0, 0.3)
    hue_bias: tuple[float, float, float] = (1.0, 1.0, 1.0)


def smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """(size, size) float32 noise in about [-1, 1] varying over ``cells`` cells."""
    grid = rng.uniform(-1.0, 1.0, (cells + 1, cells + 1))
    # bilinear, the grid's corners on the image's corners (``ndimage.zoom(grid, order=1)``), one axis at a time
    position = np.arange(size) * (cells / (size - 1))
    low = np.minimum(position.astype(np.int64), cells - 1)
    weight = position - low
    rows = (grid[low] * (1 - weight)[:, None] + grid[low + 1] * weight[:, None]).astype(np.float32)  # (size, cells + 1)
    weight = weight.astype(np.float32)
    noise = rows[:, low]
    noise *= 1 - weight
    noise += rows[:, low + 1] * weight
    return noise


@lru_cache(maxsize=4)
def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(size, size) float32 row and column positions in [0, 1), shared by every background of a size."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    yy.setflags(write=False)
    xx.setflags(write=False)
    return yy, xx


def _colour(rng: np.random.Generator, style: BackgroundStyle, brightness: tuple[float, float]) -> np.ndarray:
    base = rng.uniform(*brightness)
    tint = rng.uniform(-1.0, 1.0, 3) * rng.uniform(*style.saturation)
    return np.clip(base * (1.0 + tint) * np.asarray(style.hue_bias), 0.02, 1.0).astype(np.float32)


def _rectangle(size: int, rng: np.random.Generator, min_side: float, max_side: float) -> np.ndarray:
    """A slightly rotated filled rectangle mask, anywhere (often crossing the border)."""
    yy, xx = _pixel_grid(size)
    cx, cy = (float(c) for c in rng.uniform(-0.1, 1.1, 2))
    half_w, half_h = (float(h) for h in rng.uniform(min_side, max_side, 2) / 2)
    angle = np.radians(rng.normal(0.0, 4.0))
    cosine, sine = float(np.cos(angle)), float(np.sin(angle))
    dx, dy = xx - cx, yy - cy
    along = dx * cosine + dy * sine
    across = dy * cosine - dx * sine
    return (np.abs(along) < half_w) & (np.abs(across) < half_h)


def make_background(rng: np.random.Generator, size: int, style: BackgroundStyle) -> np.ndarray:
    """Draw one (size, size, 3) float32 background in [0, 1]."""
    kind = rng.choice(3, p=np.asarray(style.kinds) / sum(style.kinds))
    wall = _colour(rng, style, style.brightness)
    yy, xx = _pixel_grid(size)
    slope_x, slope_y = (float(slope) for slope in rng.normal(0.0, 0.25, 2))
    shading = 1.0 + slope_x * (xx - 0.5) + slope_y * (yy - 0.5) + 0.08 * smooth_noise(rng, size, 3)
    image = wall * shading[..., None]
    image = image * (1.0 + 0.02 * rng.standard_normal((size, size, 1)).astype(np.float32))
    if kind == 1:
        for _ in range(rng.integers(1, 5)):
            mask = _rectangle(size, rng, 0.15, 0.9)
            image[mask] = _colour(rng, style, (0.05, 1.0)) * (1.0 + 0.1 * smooth_noise(rng, size, 2))[mask][:, None]
    elif kind == 2:
        for _ in range(rng.integers(6, 14)):
            mask = _rectangle(size, rng, 0.05, 0.4)
            image[mask] = _colour(rng, style, (0.05, 1.0))
        image = ndimage.gaussian_filter(image, sigma=(size * rng.uniform(0.005, 0.03),) * 2 + (0,))
    return np.clip(image, 0.0, 1.0).astype(np.float32, copy=False)
