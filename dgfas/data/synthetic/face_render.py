"""Render a synthetic face: pose and project the face asset, texture and light it, and composite it.

The face is drawn at ``supersample`` times the output size and
box-downsampled, which anti-aliases its edges; its label maps come from the
rasterizer's (:mod:`dgfas.data.synthetic.render`). The synthetic domains use
one sample a pixel: their scenes are at twice the output size already
(:data:`dgfas.data.synthetic.shoot.FACE_SUPERSAMPLE`).

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
from dgfas.data.synthetic.render import label_maps, rasterize
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

    pixel, triangle, weights = rasterize(screen, asset.triangles, grid)
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

    parsing, depth = label_maps(screen, pixel, triangle, weights, size, supersample)
    image = np.ascontiguousarray(image, dtype=np.float32)
    return FaceRender(image=image, depth=depth, parsing=parsing, mask=parsing > 0)
