"""A numpy z-buffer rasterizer for the synthetic face, and the label maps it draws.

Every triangle is rasterized at once: the runs of pixels that each row of
each triangle covers form one flat array of candidates, barycentric
coordinates come from one array expression, and the nearest surface per
pixel is resolved with ``np.maximum.at`` on a depth buffer. Label maps
(parsing and depth) of a face drawn at ``supersample`` times the output size
take the majority class of each block and the mean depth of its covered
sub-pixels. :func:`dgfas.data.synthetic.face_render.render_face` shades the
pixels this rasterizer finds; the labels of real face crops
(:mod:`dgfas.data.corpora.labels`) come from here too.

Those real-crop labels are why the rasterizer is a module of its own: the
prepared real corpora are keyed on the modules their preparation imports
(:func:`dgfas.data.corpora.cache_identity.preprocessing_modules`), which
take in this one and not the shading of a synthetic face.

Per-pixel work gathers from contiguous one-channel arrays (``take``) and
stays in float32: gathering rows of three values, or a float64 scalar in an
expression, costs several times more on these array sizes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from dgfas.data.frames import PARSING_CLASSES
from dgfas.data.synthetic.mesh import load_asset

_N_CLASSES = len(PARSING_CLASSES)


def rasterize(screen: np.ndarray, triangles: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest triangle per pixel.

    Args:
        screen: (V, 3) pixel x, pixel y, camera z (larger = nearer).
        triangles: (T, 3) vertex ids.
        size: side of the square pixel grid.

    Returns:
        pixel ids (M,) of covered pixels (row-major), their triangle ids (M,)
        and barycentric weights (3, M).
    """
    corners = screen[triangles]  # (T, 3, 3)
    x, y = corners[..., 0], corners[..., 1]
    area = (x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0]) - (y[:, 1] - y[:, 0]) * (x[:, 2] - x[:, 0])
    # Pixel centres sit at integer + 0.5.
    x_low = np.clip(np.ceil(x.min(1) - 0.5), 0, size).astype(np.int32)
    x_high = np.clip(np.floor(x.max(1) - 0.5), -1, size - 1).astype(np.int32)
    y_low = np.clip(np.ceil(y.min(1) - 0.5), 0, size).astype(np.int32)
    y_high = np.clip(np.floor(y.max(1) - 0.5), -1, size - 1).astype(np.int32)
    widths = np.maximum(x_high - x_low + 1, 0)
    heights = np.maximum(y_high - y_low + 1, 0)
    ids = np.flatnonzero((np.abs(area) > 1e-9) & (widths > 0) & (heights > 0))
    if len(ids) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((3, 0), np.float32)

    # Edge functions as planes over the pixel grid, evaluated from each box's
    # first pixel centre: w_i = base_i + step_x_i dx + step_y_i dy, normalised
    # by the signed area so inside means all three >= 0 for either winding.
    xs, ys, inverse_area = x[ids], y[ids], 1.0 / area[ids]
    nxt, prv = [1, 2, 0], [2, 0, 1]
    step_x = (ys[:, nxt] - ys[:, prv]) * inverse_area[:, None]  # (T', 3): vertex i weighs by its opposite edge
    step_y = (xs[:, prv] - xs[:, nxt]) * inverse_area[:, None]
    offset = (xs[:, nxt] * ys[:, prv] - xs[:, prv] * ys[:, nxt]) * inverse_area[:, None]
    base = step_x * (x_low[ids] + 0.5)[:, None] + step_y * (y_low[ids] + 0.5)[:, None] + offset

    # Rows first: on each row of a triangle's box the inside is one run of
    # pixels, bounded by the edges whose weight falls (or rises) along x. Only
    # those runs, widened by a pixel against rounding, become candidates: a
    # bounding box holds several times more pixels than its triangle.
    row_triangle = np.repeat(np.arange(len(ids)), heights[ids])  # (R,) index into ids
    row_dy = np.arange(len(row_triangle)) - np.repeat(np.cumsum(heights[ids]) - heights[ids], heights[ids])
    row_start = base.T[:, row_triangle] + step_y.T[:, row_triangle] * row_dy  # (3, R) weights at dx = 0
    row_step = step_x.T[:, row_triangle]  # (3, R) change per pixel along the row
    last_dx = (widths[ids] - 1)[row_triangle]
    first, last = np.zeros(len(row_triangle)), last_dx.astype(np.float64)
    for start, step in zip(row_start, row_step):
        # dx where this weight crosses zero; a weight constant along the row keeps all of it or none
        crossing = np.divide(-1e-6 - start, step, out=np.where(start < -1e-6, -np.inf, np.inf), where=step != 0)
        first = np.maximum(first, np.where(step > 0, np.floor(crossing) - 1, np.where(step == 0, -crossing, 0)))
        last = np.minimum(last, np.where(step < 0, np.ceil(crossing) + 1, np.where(step == 0, crossing, np.inf)))
    first = np.minimum(first, last_dx + 1).astype(np.int64)
    counts = np.maximum(np.minimum(last, last_dx) - first + 1, 0).astype(np.int64)

    # (K,) candidate pixels: their row and their offset along it
    candidate_row = np.repeat(np.arange(len(counts)), counts)
    dx = np.arange(len(candidate_row)) - np.repeat(np.cumsum(counts) - counts - first, counts)
    dx_float = dx.astype(np.float32)
    row_start, row_step = row_start.astype(np.float32), row_step.astype(np.float32)
    weights = [np.repeat(start, counts) + np.repeat(step, counts) * dx_float
               for start, step in zip(row_start, row_step)]
    inside = np.flatnonzero((weights[0] >= -1e-6) & (weights[1] >= -1e-6) & (weights[2] >= -1e-6))
    weights = np.stack([w[inside] for w in weights])  # (3, K')
    candidate_row = candidate_row[inside]
    row_triangle = ids[row_triangle]
    candidate_triangle = row_triangle[candidate_row]
    row_pixel = (y_low[row_triangle] + row_dy) * size + x_low[row_triangle]
    pixel = row_pixel[candidate_row] + dx[inside]
    z = np.ascontiguousarray(corners[row_triangle, :, 2].T, dtype=np.float32)  # (3, R)
    depth = (weights[0] * z[0].take(candidate_row) + weights[1] * z[1].take(candidate_row)
             + weights[2] * z[2].take(candidate_row))

    nearest = np.full(size * size, -np.inf, dtype=np.float32)
    np.maximum.at(nearest, pixel, depth)
    winner = np.flatnonzero(depth >= nearest[pixel])
    # Exact ties (shared edges) keep one candidate: either is right.
    chosen = np.full(size * size, -1, dtype=np.int64)
    chosen[pixel[winner]] = winner
    covered = np.flatnonzero(chosen >= 0)
    picked = chosen[covered]
    return covered, candidate_triangle[picked], weights[:, picked]


def rasterize_labels(screen: np.ndarray, size: int, supersample: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Parsing and depth maps of the face asset placed at ``screen``.

    The same code as the labels of
    :func:`dgfas.data.synthetic.face_render.render_face`, so labels of real face
    crops (:mod:`dgfas.data.corpora.labels`) follow the synthetic ground
    truth's conventions exactly.

    Args:
        screen: (V, 3) asset vertices as pixel x, pixel y on the supersampled
            grid of side ``size * supersample``, and z (larger = nearer).
        size: output side in pixels.
        supersample: sub-pixels per output pixel side.

    Returns:
        parsing (size, size) uint8 ids of ``PARSING_CLASSES`` and depth
        (size, size) float32, 0 off the head, in [0.1, 1] on it (1 = nearest).
    """
    raster = rasterize(screen, load_asset().triangles, size * supersample)
    return label_maps(screen, *raster, size, supersample)


def label_maps(
    screen: np.ndarray, pixel: np.ndarray, triangle: np.ndarray, weights: np.ndarray, size: int, supersample: int
) -> tuple[np.ndarray, np.ndarray]:
    """Parsing and depth of rasterized asset triangles (see :func:`rasterize_labels`)."""
    # Labels: majority vote per output pixel (ties to the lower id, so an
    # even split with the background stays background); depth: mean over the
    # covered sub-pixels.
    asset = load_asset()
    label = asset.triangle_class[triangle]
    corners = asset.triangles[triangle].T  # (3, M)
    z = screen[:, 2].astype(np.float32)
    surface_z = weights[0] * z[corners[0]] + weights[1] * z[corners[1]] + weights[2] * z[corners[2]]
    if supersample == 1:
        # one sample per pixel: the vote is the sample
        parsing = np.zeros(size * size, dtype=np.uint8)
        parsing[pixel] = label
        surface = np.zeros(size * size, dtype=np.float32)
        surface[pixel] = surface_z
        parsing, surface = parsing.reshape(size, size), surface.reshape(size, size)
    else:
        block = _block_ids(size, supersample)[pixel]
        votes = np.bincount(block * _N_CLASSES + label, minlength=size * size * _N_CLASSES)
        votes = votes.reshape(size * size, _N_CLASSES)
        votes[:, 0] = supersample**2 - votes[:, 1:].sum(1)
        parsing = votes.argmax(1).astype(np.uint8).reshape(size, size)
        surface = np.bincount(block, weights=surface_z, minlength=size * size)
        surface = (surface / np.maximum(votes[:, 1:].sum(1), 1)).reshape(size, size)
    mask = parsing > 0
    depth = np.zeros((size, size), dtype=np.float32)
    if mask.any():
        # Per-image range of the visible head mapped to [0.1, 1]: 1 = nearest.
        nearest, farthest = surface[mask].max(), surface[mask].min()
        depth[mask] = 0.1 + 0.9 * (surface[mask] - farthest) / max(nearest - farthest, 1e-9)
    return parsing, depth


@lru_cache(maxsize=8)
def _block_ids(size: int, supersample: int) -> np.ndarray:
    """(grid * grid,) output pixel id of each supersampled pixel."""
    rows = np.arange(size * supersample) // supersample
    return (rows[:, None] * size + rows[None, :]).ravel()
