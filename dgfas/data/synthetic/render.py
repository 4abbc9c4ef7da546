"""A numpy z-buffer rasterizer for the synthetic face.

Every triangle is rasterized at once: the runs of pixels that each row of
each triangle covers form one flat array of candidates, barycentric
coordinates come from one array expression, and the nearest surface per
pixel is resolved with ``np.maximum.at`` on a depth buffer. The face is
drawn at ``supersample`` times the output size and box-downsampled, which
anti-aliases its edges; label maps take the majority class of each block.
The synthetic domains use one sample a pixel: their scenes are at twice the
output size already (:data:`dgfas.data.synthetic.domains.FACE_SUPERSAMPLE`).

Per-pixel work gathers from contiguous one-channel arrays (``take``) and
stays in float32: gathering rows of three values, or a float64 scalar in an
expression, costs several times more on these array sizes.

Camera coordinates: x right, y down, z towards the camera (so larger z is
nearer). Projection is perspective from a camera :data:`CAMERA_DISTANCE`
face widths in front of the face, close to the weak perspective of a face
crop but with a little foreshortening.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from dgfas.data.frames import PARSING_CLASSES
from dgfas.data.synthetic.mesh import MATERIALS, Identity, albedo_texture, face_vertices, hair_pattern, load_asset
from dgfas.errors import DgfasError

#: Camera distance from the face oval's rim, in face-oval widths.
CAMERA_DISTANCE = 7.0
#: Centre of head rotation relative to the oval centre (behind the face).
_PIVOT = np.array([0.0, 0.05, -0.55])
#: Where the face's bounding box centre lands, as a fraction of the image
#: side below the centre: the hair makes the head taller above the face.
_VERTICAL_OFFSET = 0.06
_MOUTH_INTERIOR = np.array([0.30, 0.10, 0.10], dtype=np.float32)
#: Specular gain per material (face, mouth interior, hair): hair is matte-ish.
_SHINE_BY_MATERIAL = np.array([1.0, 0.0, 0.4], dtype=np.float32)
_N_CLASSES = len(PARSING_CLASSES)


@dataclass(frozen=True)
class Pose:
    """Head pose and expression in the image.

    Attributes:
        yaw: degrees; positive turns the nose towards the image's right.
        pitch: degrees; positive tilts the face up.
        roll: degrees; positive rotates the face clockwise in the image.
        scale: face (oval) width as a fraction of image width.
        shift: face centre offset, fraction of image side (x, y).
        mouth_open: 0 closed .. 1 wide open.
    """

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    scale: float = 0.62
    shift: tuple[float, float] = (0.0, 0.0)
    mouth_open: float = 0.0


@dataclass(frozen=True)
class Lighting:
    """One directional light plus ambient.

    Attributes:
        direction: towards the light in camera coordinates (x right, y down,
            z towards the camera); need not be unit length.
        ambient: ambient term.
        diffuse: Lambert gain.
        colour: RGB light colour.
        specular: Blinn-Phong gain (skin shine).
        shininess: Blinn-Phong exponent.
    """

    direction: tuple[float, float, float] = (0.3, -0.4, 1.0)
    ambient: float = 0.45
    diffuse: float = 0.65
    colour: tuple[float, float, float] = (1.0, 1.0, 1.0)
    specular: float = 0.15
    shininess: float = 20.0


@dataclass
class FaceRender:
    """A rendered face and its pixel maps.

    Attributes:
        image: (S, S, 3) float32 in [0, 1], face composited over the background.
        depth: (S, S) float32, 0 off the head, in (0, 1] on it (1 = nearest).
        parsing: (S, S) uint8 ids of ``PARSING_CLASSES``, 0 = background.
        mask: (S, S) bool head coverage.
    """

    image: np.ndarray
    depth: np.ndarray
    parsing: np.ndarray
    mask: np.ndarray


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """(3, 3) rotation for the conventions of :class:`Pose` (degrees)."""
    y, p, r = np.radians([yaw, pitch, roll])
    about_y = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    about_x = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    about_z = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return about_z @ about_x @ about_y


def _vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(V, 3) unit normals, area-weighted average of the adjacent faces."""
    corners = vertices[triangles]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(vertices)
    for axis in range(3):
        normals[:, axis] = np.bincount(
            triangles.ravel(), weights=np.repeat(face_normals[:, axis], 3), minlength=len(vertices)
        )
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


def _rasterize(screen: np.ndarray, triangles: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _sample_bilinear(texture: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear lookup of (H, W[, C]) float32 ``texture`` at (M,) coordinates ``u``, ``v`` in [0, 1]."""
    height, width = texture.shape[:2]
    x = np.clip(u * np.float32(width) - np.float32(0.5), 0, width - 1)
    y = np.clip(v * np.float32(height) - np.float32(0.5), 0, height - 1)
    x0 = np.minimum(x.astype(np.int32), width - 2)
    y0 = np.minimum(y.astype(np.int32), height - 2)
    fx, fy = x - x0, y - y0
    top_left = y0 * width + x0
    corners = (top_left, top_left + 1, top_left + width, top_left + width + 1)

    def blend(plane: np.ndarray) -> np.ndarray:
        # gathers from one contiguous plane: several times faster than gathering pixels of C values
        a, b, c, d = (plane.take(index) for index in corners)
        top = a + (b - a) * fx
        return top + (c + (d - c) * fx - top) * fy

    if texture.ndim == 2:
        return blend(texture.reshape(-1))
    return np.stack([blend(np.ascontiguousarray(texture[..., k]).reshape(-1)) for k in range(texture.shape[2])],
                    axis=1)


@lru_cache(maxsize=1)
def _vertex_attributes() -> np.ndarray:
    """(5, V) float32 per-vertex attributes that do not depend on the pose: uv, hair uv, occlusion."""
    asset = load_asset()
    return np.ascontiguousarray(np.column_stack([asset.uv, asset.hair_uv, asset.occlusion]).T, dtype=np.float32)


def render_face(
    identity: Identity,
    pose: Pose,
    lighting: Lighting,
    size: int,
    background: np.ndarray,
    *,
    supersample: int = 2,
) -> FaceRender:
    """Render ``identity`` in ``pose`` under ``lighting`` over ``background``.

    Args:
        identity: the subject.
        pose: head pose and mouth opening.
        lighting: light direction, ambient/diffuse/specular terms and colour.
        size: output side in pixels.
        background: (size, size, 3) float32 in [0, 1].
        supersample: internal resolution factor for anti-aliasing.

    Returns:
        The composited image with depth, parsing and mask maps.
    """
    if background.shape != (size, size, 3):
        raise DgfasError(f"render_face background has shape {background.shape}, expected {(size, size, 3)}")
    asset = load_asset()
    grid = size * supersample

    rotation = rotation_matrix(pose.yaw, pose.pitch, pose.roll)
    vertices = (face_vertices(identity, pose.mouth_open) - _PIVOT) @ rotation.T + _PIVOT
    normals = _vertex_normals(vertices, asset.triangles)

    perspective = CAMERA_DISTANCE / (CAMERA_DISTANCE - vertices[:, 2])
    pixels_per_unit = pose.scale * grid
    screen = np.empty_like(vertices)
    screen[:, :2] = pixels_per_unit * vertices[:, :2] * perspective[:, None]
    screen[:, 2] = vertices[:, 2]
    # Centre the face like a detector crop would: its projected bounding box
    # (hair and neck excluded) lands at the image centre whatever the rotation.
    face_points = screen[asset.anchor < 0, :2]
    box_centre = (face_points.min(0) + face_points.max(0)) / 2
    target = grid * (0.5 + np.array([pose.shift[0], _VERTICAL_OFFSET + pose.shift[1]]))
    screen[:, :2] += target - box_centre

    pixel, triangle, weights = _rasterize(screen, asset.triangles, grid)
    corners = asset.triangles.T[:, triangle]  # (3, M)
    # (8, V) per-vertex planes: uv, hair uv, occlusion, normal; each interpolated from contiguous gathers
    per_vertex = np.concatenate([_vertex_attributes(), normals.T.astype(np.float32)])
    attributes = np.stack([sum(weights[i] * plane.take(corners[i]) for i in range(3)) for plane in per_vertex])
    u, v, hair_u, hair_v, occlusion, normal_x, normal_y, normal_z = attributes  # (M,) each

    material = asset.triangle_material[triangle]
    label = asset.triangle_class[triangle]
    is_hair = material == MATERIALS.index("hair")
    is_mouth = material == MATERIALS.index("mouth_interior")

    albedo = np.empty((len(pixel), 3), dtype=np.float32)
    face_rows = np.flatnonzero(~is_hair)
    hair_rows = np.flatnonzero(is_hair)
    albedo[face_rows] = _sample_bilinear(albedo_texture(identity), u.take(face_rows), v.take(face_rows))
    mouth_rows = np.flatnonzero(is_mouth)
    albedo[mouth_rows] = _MOUTH_INTERIOR * (0.4 + 0.6 * albedo[mouth_rows].mean(1, keepdims=True))
    strands = _sample_bilinear(hair_pattern(), hair_u.take(hair_rows), hair_v.take(hair_rows))
    albedo[hair_rows] = np.asarray(identity.hair_colour, dtype=np.float32) * (0.55 + 0.7 * strands)[:, None]

    # 1 / |normal|, negative where the normal faces away: hair is two-sided, and a face pixel facing
    # away is never nearest
    scale = 1.0 / np.maximum(np.sqrt(normal_x * normal_x + normal_y * normal_y + normal_z * normal_z), 1e-12)
    scale[normal_z < 0] *= -1

    def facing(direction: np.ndarray) -> np.ndarray:
        """(M,) cosine between the unit normal and a unit ``direction``, 0 where negative."""
        cosine = normal_x * direction[0] + normal_y * direction[1] + normal_z * direction[2]
        cosine *= scale
        return np.maximum(cosine, 0.0, out=cosine)

    light = np.asarray(lighting.direction, dtype=np.float32)
    light /= max(float(np.linalg.norm(light)), 1e-12)
    half = light + np.array([0.0, 0.0, 1.0], dtype=np.float32)
    half /= max(float(np.linalg.norm(half)), 1e-12)
    lambert = facing(light)
    shine = facing(half) ** np.float32(lighting.shininess)
    shine_gain = _SHINE_BY_MATERIAL[material]
    shine_gain[label == PARSING_CLASSES.index("eyes")] = 2.0  # wet eyes
    light_colour = np.asarray(lighting.colour, dtype=np.float32)
    colour = albedo
    colour *= (lighting.ambient + lighting.diffuse * lambert)[:, None]
    colour += (lighting.specular * shine_gain * shine)[:, None]
    colour *= light_colour * occlusion[:, None]

    # Supersampled canvas: background upsampled, face pixels written over it.
    background = background.astype(np.float32, copy=False)
    canvas = np.broadcast_to(background[:, None, :, None], (size, supersample, size, supersample, 3))
    canvas = canvas.reshape(grid * grid, 3).copy()
    canvas[pixel] = np.clip(colour, 0.0, 1.0, out=colour)
    canvas = canvas.reshape(size, supersample, size, supersample, 3)
    image = canvas.mean(axis=(1, 3), dtype=np.float32) if supersample > 1 else canvas[:, 0, :, 0]

    parsing, depth = _label_maps(screen, pixel, triangle, weights, size, supersample)
    image = np.ascontiguousarray(image, dtype=np.float32)
    return FaceRender(image=image, depth=depth, parsing=parsing, mask=parsing > 0)


def rasterize_labels(screen: np.ndarray, size: int, supersample: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Parsing and depth maps of the face asset placed at ``screen``.

    The same code as :func:`render_face`'s labels, so labels of real face
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
    raster = _rasterize(screen, load_asset().triangles, size * supersample)
    return _label_maps(screen, *raster, size, supersample)


def _label_maps(
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
