"""The committed 3D face asset and per-subject identity (shape and albedo).

``face_asset.npz`` is built once by ``tools/build_face_asset.py`` (which needs
mediapipe); here it is read with numpy alone and cached. Model coordinates:
x right, y down, z towards the camera, unit = width of the face oval, origin
at the centre of the oval's bounding box.

A subject is an :class:`Identity`: a frozen, hashable set of numbers that
deform the mean shape (proportions, nose, jaw, smooth random fields) and
recolour the texture (skin tone, contrast, blotches, brows, lips, hair).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from dgfas.data.frames import PARSING_CLASSES
from dgfas.errors import DgfasError

ASSET_PATH = Path(__file__).with_name("face_asset.npz")
ASSET_FORMAT_VERSION = 1

#: Materials, index = value in ``FaceAsset.triangle_material``.
MATERIALS = ("face", "mouth_interior", "hair")

#: Number of smooth random displacement fields an identity mixes.
N_SHAPE_FIELDS = 8

_SHAPE_FIELD_SEED = 20240611  # fixes the basis fields, not any subject


@dataclass(frozen=True)
class FaceAsset:
    """Arrays of ``face_asset.npz``; see ``tools/build_face_asset.py`` for their making.

    Attributes:
        vertices: (V, 3) float32 neutral shape, closed mouth.
        triangles: (T, 3) int32, counter-clockwise seen from the front.
        triangle_class: (T,) uint8 ids of ``PARSING_CLASSES``.
        triangle_material: (T,) uint8 ids of :data:`MATERIALS`.
        uv: (V, 2) float32 coordinates into ``texture`` (x, y in [0, 1]).
        hair_uv: (V, 2) float32 coordinates into ``hair_texture``.
        texture: (128, 128, 3) uint8 RGB crop of the source photo.
        texture_parsing: (128, 128) uint8 class of each texel.
        hair_texture: (64, 64) uint8 strand pattern.
        mouth_offset: (V, 3) float32 displacement at ``mouth_open = 1``.
        nose_weight: (V,) float32 in [0, 1], how much a vertex is nose.
        lower_face_weight: (V,) float32 in [0, 1], 0 above the nose tip, 1 at the chin.
        anchor: (V,) int32 oval vertex that a hair or rim (jaw side, neck)
            vertex hangs from, -1 for vertices of the face mesh itself.
        anchor_offset: (V, 3) float32 position relative to the anchor.
        hair_vertex: (V,) bool, vertices of the hair cap.
        occlusion: (V,) float32 ambient occlusion in (0, 1], scales shading
            where the renderer casts no shadow (under the jaw, the neck).
        keypoints: name -> vertex id (nose_tip, left_cheek, right_cheek, forehead_top, chin).
    """

    vertices: np.ndarray
    triangles: np.ndarray
    triangle_class: np.ndarray
    triangle_material: np.ndarray
    uv: np.ndarray
    hair_uv: np.ndarray
    texture: np.ndarray
    texture_parsing: np.ndarray
    hair_texture: np.ndarray
    mouth_offset: np.ndarray
    nose_weight: np.ndarray
    lower_face_weight: np.ndarray
    anchor: np.ndarray
    anchor_offset: np.ndarray
    hair_vertex: np.ndarray
    occlusion: np.ndarray
    keypoints: dict[str, int] = field(hash=False)


@lru_cache(maxsize=1)
def load_asset(path: Path = ASSET_PATH) -> FaceAsset:
    """Read and check the asset once per process."""
    if not path.is_file():
        raise DgfasError(
            f"face asset {path} is missing; rebuild it with make face-asset (tools/build_face_asset.py) "
            "in a dgfas checkout"
        )
    with np.load(path) as data:
        version = int(data["format_version"]) if "format_version" in data.files else None
        if version != ASSET_FORMAT_VERSION:
            raise DgfasError(f"face asset {path} has format_version {version}, expected {ASSET_FORMAT_VERSION}")
        arrays = {name: data[name] for name in data.files}
    keypoints = {str(name): int(index) for name, index in zip(arrays.pop("keypoint_names"), arrays.pop("keypoints"))}
    arrays.pop("format_version")
    for array in arrays.values():
        array.setflags(write=False)
    return FaceAsset(**arrays, keypoints=keypoints)


@dataclass(frozen=True)
class Identity:
    """One synthetic subject: shape deformation and albedo.

    Attributes:
        width: horizontal scale of the face.
        height: vertical scale of the face.
        depth: scale of the face's relief (z).
        nose_length: how far the nose sticks out (1 = mean).
        nose_width: horizontal scale of the nose region.
        jaw_width: horizontal scale of the lower face, growing towards the chin.
        shape_coefficients: weights of the :data:`N_SHAPE_FIELDS` smooth random
            displacement fields, in face-oval widths.
        skin_tone: RGB albedo of skin, in [0, 1].
        texture_contrast: gain on the photo's fine detail (pores, creases, lids).
        blotch_seed: seed of the subject's low-frequency blotch pattern.
        blotch_strength: relative amplitude of the blotches.
        hair_colour: RGB albedo of hair.
        hair_volume: scale of the hair cap's offsets from the face.
        brow_darkness: 0 = brows in skin tone, 1 = brows in hair colour.
        lip_tint: RGB albedo of the lips.
    """

    width: float = 1.0
    height: float = 1.0
    depth: float = 1.0
    nose_length: float = 1.0
    nose_width: float = 1.0
    jaw_width: float = 1.0
    shape_coefficients: tuple[float, ...] = (0.0,) * N_SHAPE_FIELDS
    skin_tone: tuple[float, float, float] = (0.85, 0.66, 0.55)
    texture_contrast: float = 1.0
    blotch_seed: int = 0
    blotch_strength: float = 0.0
    hair_colour: tuple[float, float, float] = (0.25, 0.16, 0.1)
    hair_volume: float = 1.0
    brow_darkness: float = 0.6
    lip_tint: tuple[float, float, float] = (0.7, 0.36, 0.36)


# Skin tones from light to dark (RGB albedo); a subject's tone is a point
# between two neighbours, jittered.
_SKIN_TONES = np.array(
    [
        [0.96, 0.80, 0.70],
        [0.90, 0.70, 0.58],
        [0.80, 0.58, 0.44],
        [0.66, 0.45, 0.32],
        [0.50, 0.33, 0.23],
        [0.36, 0.23, 0.16],
    ]
)
_HAIR_COLOURS = np.array(
    [
        [0.06, 0.05, 0.05],  # black
        [0.20, 0.12, 0.07],  # dark brown
        [0.38, 0.25, 0.15],  # brown
        [0.62, 0.47, 0.30],  # dark blond
        [0.80, 0.66, 0.45],  # blond
        [0.52, 0.22, 0.10],  # red
        [0.62, 0.60, 0.58],  # grey
    ]
)


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draw a subject; different draws differ visibly in shape and albedo."""
    tone_position = rng.uniform(0, len(_SKIN_TONES) - 1)
    low = int(np.floor(tone_position))
    high = min(low + 1, len(_SKIN_TONES) - 1)
    tone = _SKIN_TONES[low] + (tone_position - low) * (_SKIN_TONES[high] - _SKIN_TONES[low])
    tone = np.clip(tone * rng.normal(1.0, 0.04, size=3), 0.05, 1.0)
    hair = _HAIR_COLOURS[rng.integers(len(_HAIR_COLOURS))] * rng.normal(1.0, 0.1, size=3)
    lip = tone * np.array([0.85, 0.55, 0.55]) * rng.normal(1.0, 0.08, size=3)
    return Identity(
        width=float(rng.normal(1.0, 0.06)),
        height=float(rng.normal(1.0, 0.06)),
        depth=float(rng.normal(1.0, 0.12)),
        nose_length=float(rng.normal(1.0, 0.2)),
        nose_width=float(rng.normal(1.0, 0.12)),
        jaw_width=float(rng.normal(1.0, 0.1)),
        shape_coefficients=tuple(float(c) for c in rng.normal(0.0, 0.018, size=N_SHAPE_FIELDS)),
        skin_tone=_rgb(tone),
        texture_contrast=float(rng.uniform(0.6, 1.4)),
        blotch_seed=int(rng.integers(2**31)),
        blotch_strength=float(rng.uniform(0.0, 0.12)),
        hair_colour=_rgb(np.clip(hair, 0.02, 1.0)),
        hair_volume=float(rng.uniform(0.7, 1.3)),
        brow_darkness=float(rng.uniform(0.3, 0.9)),
        lip_tint=_rgb(np.clip(lip, 0.05, 1.0)),
    )


def _rgb(values: np.ndarray) -> tuple[float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]))


@lru_cache(maxsize=1)
def _shape_fields() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed basis of smooth fields: cos(2 pi k.v + phase) along a direction.

    Returns (N, 3) wave vectors, (N,) phases and (N, 3) unit directions; the
    wavelengths are about a face width, so the fields bend, never crinkle.
    """
    rng = np.random.default_rng(_SHAPE_FIELD_SEED)
    waves = rng.normal(0.0, 0.9, size=(N_SHAPE_FIELDS, 3))
    phases = rng.uniform(0, 2 * np.pi, size=N_SHAPE_FIELDS)
    directions = rng.normal(size=(N_SHAPE_FIELDS, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return waves, phases, directions


def face_vertices(identity: Identity, mouth_open: float = 0.0) -> np.ndarray:
    """(V, 3) float64 vertices of ``identity`` with the mouth ``mouth_open`` in [0, 1]."""
    asset = load_asset()
    neutral = asset.vertices.astype(np.float64)
    vertices = neutral + float(np.clip(mouth_open, 0.0, 1.0)) * asset.mouth_offset

    tip = neutral[asset.keypoints["nose_tip"]]
    nose = asset.nose_weight[:, None]
    vertices[:, 2] += nose[:, 0] * (identity.nose_length - 1.0) * (vertices[:, 2] - tip[2] + 0.3)
    vertices[:, 0] += nose[:, 0] * (identity.nose_width - 1.0) * (vertices[:, 0] - tip[0])
    vertices[:, 0] *= 1.0 + (identity.jaw_width - 1.0) * asset.lower_face_weight

    waves, phases, directions = _shape_fields()
    coefficients = np.asarray(identity.shape_coefficients, dtype=np.float64)
    if coefficients.shape != (N_SHAPE_FIELDS,):
        raise DgfasError(f"Identity.shape_coefficients needs {N_SHAPE_FIELDS} values, got {coefficients.shape[0]}")
    fields = np.cos(2 * np.pi * neutral @ waves.T + phases)  # (V, N)
    vertices += (fields * coefficients) @ directions
    vertices *= np.array([identity.width, identity.height, identity.depth])

    # Hair and rim hang from the deformed oval, so they follow the face's shape.
    hanging = asset.anchor >= 0
    offset = asset.anchor_offset[hanging] * np.array([identity.width, identity.height, 1.0])
    offset[asset.hair_vertex[hanging]] *= identity.hair_volume
    vertices[hanging] = vertices[asset.anchor[hanging]] + offset
    return vertices


def _blur_matrix(size: int, sigma: float) -> np.ndarray:
    """(size, size) row-normalised Gaussian: ``K @ image @ K.T`` blurs an image."""
    positions = np.arange(size)
    kernel = np.exp(-0.5 * ((positions[:, None] - positions[None, :]) / sigma) ** 2)
    return kernel / kernel.sum(1, keepdims=True)


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    kernel = _blur_matrix(image.shape[0], sigma)
    return np.einsum("ij,jk...,lk->il...", kernel, image, kernel, optimize=True)


@lru_cache(maxsize=1)
def _texture_layers() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Photo detail (local luminance ratio), photo colour, soft class masks."""
    asset = load_asset()
    photo = asset.texture.astype(np.float64) / 255.0
    luminance = photo @ np.array([0.299, 0.587, 0.114])
    # The ratio to a blurred luminance keeps lids, creases and pores but drops
    # the photo's own lighting, which the renderer adds back from the pose.
    detail = luminance / np.maximum(_blur(luminance, 6.0), 1e-3)
    # Near the oval the photo shows hair, ears and background squeezed by the
    # photo's head turn: fade the detail out there.
    inside = _blur((asset.texture_parsing > 0).astype(np.float64), 4.0)
    fade = np.clip(2.0 * inside - 1.0, 0.0, 1.0) ** 2
    detail = 1.0 + fade * (np.clip(detail, 0.5, 1.5) - 1.0)
    masks = {
        name: _blur((asset.texture_parsing == PARSING_CLASSES.index(name)).astype(np.float64), 1.2)
        for name in ("brows", "eyes", "lips")
    }
    return detail, photo, masks


@lru_cache(maxsize=256)
def albedo_texture(identity: Identity) -> np.ndarray:
    """(128, 128, 3) float32 albedo of ``identity``'s face texture in [0, 1]."""
    detail, photo, masks = _texture_layers()
    size = detail.shape[0]
    skin = np.asarray(identity.skin_tone)
    brow = skin + identity.brow_darkness * (np.asarray(identity.hair_colour) * 0.8 - skin)
    base = np.broadcast_to(skin, photo.shape).copy()
    for name, colour in (("brows", brow), ("lips", np.asarray(identity.lip_tint))):
        base += masks[name][..., None] * (colour - base)
    albedo = base * (1.0 + identity.texture_contrast * (detail - 1.0))[..., None]
    # Eyes keep the photo's sclera and iris (brightened a little: the photo is dim).
    eyes = masks["eyes"][..., None]
    albedo = albedo * (1 - eyes) + eyes * np.clip(photo * 1.15, 0, 1)

    blotch_rng = np.random.default_rng(identity.blotch_seed)
    coarse = blotch_rng.normal(size=(2, 6, 6))
    grid = np.linspace(0, 5, size)
    blotches = np.stack([_bilinear_grid(c, grid) for c in coarse])  # (2, size, size)
    skin_only = 1.0 - eyes[..., 0]
    albedo *= (1.0 + identity.blotch_strength * blotches[0] * skin_only)[..., None]
    redness = identity.blotch_strength * np.clip(blotches[1], 0, None) * skin_only
    albedo[..., 1] *= 1.0 - 0.6 * redness
    albedo[..., 2] *= 1.0 - 0.6 * redness
    return np.clip(albedo, 0.0, 1.0).astype(np.float32)


def _bilinear_grid(coarse: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Upsample a small 2D array to ``(len(grid), len(grid))`` by bilinear interpolation."""
    rows = np.stack([np.interp(grid, np.arange(coarse.shape[1]), row) for row in coarse])
    return np.stack([np.interp(grid, np.arange(coarse.shape[0]), column) for column in rows.T], axis=1)


@lru_cache(maxsize=1)
def hair_pattern() -> np.ndarray:
    """(64, 64) float32 strand pattern in [0, 1] that modulates hair albedo."""
    return (load_asset().hair_texture.astype(np.float32) / 255.0)
