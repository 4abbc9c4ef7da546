"""Depth, parsing and reflection maps for real face crops, in the synthetic ground truth's conventions.

Real corpora come without pixel maps, so they are made here the way the
synthetic domains make theirs, and a model trains on either without change:

* depth and parsing: the synthetic face asset (:mod:`dgfas.data.synthetic.mesh`),
  whose first 468 vertices are FaceMesh's landmarks, is placed on the
  landmarks found in the crop (:mod:`dgfas.data.corpora.facemesh`) and
  rasterized by the renderer's own label code
  (:func:`dgfas.data.synthetic.render.rasterize_labels`): same classes per
  triangle, same supersampling and majority vote, same per-image depth range
  [0.1, 1] over the visible head. Spoofs get zero depth, as in the synthetic
  data, and the parsing of the face they show, as ``compose_medium`` gives
  the synthetic spoofs the parsing of the face on the medium.
* reflection: a classical estimate of the glare layer (see
  :func:`specular_layer`); zeros for lives, as in the synthetic data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from dgfas.data.corpora.facemesh import FaceMesh
from dgfas.data.frames import encode_unit_map
from dgfas.data.synthetic.mesh import load_asset
from dgfas.data.synthetic.render import rasterize_labels
from dgfas.errors import DgfasError

#: Sub-pixels per pixel side, as ``render_face``'s default.
SUPERSAMPLE = 2
#: Specular threshold of Shen & Zheng (2013): the minimum channel's mean plus
#: this many standard deviations counts as diffuse. 1 beat 0 and 0.5 against
#: the synthetic glare (pooled correlation 0.09 vs 0.01 and 0.06) and gives
#: about its mean intensity.
SPECULAR_ETA = 1.0
#: Smoothing of the specular estimate, fraction of the crop side.
SPECULAR_SMOOTHING = 0.05


@dataclass(frozen=True)
class FaceLabels:
    """Pixel maps of one crop, as a :class:`dgfas.data.frames.FrameSet` row holds them.

    Attributes:
        depth: (S, S) uint8 codes of depth in [0, 1] (:func:`encode_unit_map`, 255 = nearest); zeros for
            spoofs and where no face was found.
        parsing: (S, S) uint8 ids of ``PARSING_CLASSES``; zeros where no face was found.
        reflection: (S, S, 3) uint8 codes of the glare layer in [0, 1]; zeros for lives.
        mesh_found: whether FaceMesh found a face (else depth and parsing are background).
    """

    depth: np.ndarray
    parsing: np.ndarray
    reflection: np.ndarray
    mesh_found: bool


def similarity_transform(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares ``target ~ scale * source @ rotation.T + shift`` (Umeyama, PAMI 1991).

    Args:
        source: (N, 3) points.
        target: (N, 3) corresponding points.

    Returns:
        scale, (3, 3) rotation (a proper one: no mirroring), (3,) shift.
    """
    source_mean, target_mean = source.mean(0), target.mean(0)
    src, dst = source - source_mean, target - target_mean
    u, singular, vt = np.linalg.svd(dst.T @ src / len(source))
    sign = np.ones(3)
    sign[2] = np.sign(np.linalg.det(u) * np.linalg.det(vt))
    rotation = u @ np.diag(sign) @ vt
    scale = float((singular * sign).sum() / (src**2).sum(1).mean())
    return scale, rotation, target_mean - scale * rotation @ source_mean


def place_asset(landmarks: np.ndarray) -> np.ndarray:
    """(V, 3) asset vertices on a face whose FaceMesh landmarks are ``landmarks``.

    The 468 mesh vertices sit on the landmarks themselves; hair, jaw rim and
    neck hang from their oval vertex with the offset of the neutral asset,
    rotated and scaled by the similarity that best maps the neutral mesh
    onto the landmarks; the remaining vertices (eyeballs, mouth interior)
    take that similarity of their neutral position.

    Args:
        landmarks: (468, 3) x, y in pixels, z scaled like x, larger = nearer.
    """
    asset = load_asset()
    neutral = asset.vertices.astype(np.float64)
    scale, rotation, shift = similarity_transform(neutral[:468], landmarks.astype(np.float64))
    vertices = scale * neutral @ rotation.T + shift
    vertices[:468] = landmarks
    hanging = asset.anchor >= 0
    vertices[hanging] = vertices[asset.anchor[hanging]] + scale * asset.anchor_offset[hanging] @ rotation.T
    return vertices


def specular_layer(image: np.ndarray, eta: float = SPECULAR_ETA) -> np.ndarray:
    """(H, W, 3) achromatic estimate of the glare added to an RGB image.

    Under the dichromatic model a glare adds the light's (nearly white)
    colour to every channel, so it lifts the minimum channel, while diffuse
    colours keep it low. With the specular-pixel threshold of Shen & Zheng
    ("Real-time highlight removal using intensity ratio", Applied Optics
    2013), the part of the minimum channel above its image mean plus ``eta``
    standard deviations is taken as specular, then smoothed: a lamp or window reflected by a sheet is a
    broad layer, while single bright grey pixels (teeth, eye whites, a white
    wall) are not glare. This replaces the reflection-separation network BASN
    (Kim et al., ICCVW 2019) took its targets from, whose weights cannot be
    had here; it is in the synthetic ground truth's units (added intensity
    in [0, 1]), the same on all three channels.

    Args:
        image: (H, W, 3) uint8 RGB.
        eta: threshold in standard deviations of the minimum channel.
    """
    minimum = image.min(axis=2).astype(np.float32) / 255.0
    threshold = minimum.mean() + eta * minimum.std()
    sigma = SPECULAR_SMOOTHING * image.shape[0]
    specular = ndimage.gaussian_filter(np.clip(minimum - threshold, 0.0, None), sigma=sigma)
    return np.repeat(specular[..., None], 3, axis=2)


class FaceLabeller:
    """Pixel maps for face crops; holds one FaceMesh, so make one per worker process.

    Args:
        face_mesh: the landmark model; a default :class:`FaceMesh` if None.
    """

    def __init__(self, face_mesh: FaceMesh | None = None):
        self.face_mesh = FaceMesh() if face_mesh is None else face_mesh

    def labels(self, crop: np.ndarray, live: bool, detail: np.ndarray | None = None) -> FaceLabels:
        """Depth, parsing and reflection of one square face crop.

        Args:
            crop: (S, S, 3) uint8 RGB, the face with a margin around it.
            live: whether the crop shows a bona fide face (else a spoof).
            detail: the same square at a higher resolution, for FaceMesh.
                Small crops (64 px, the quick preset's) lose the detail
                FaceMesh needs: on 64 px synthetic live crops it found the
                face in 0-100% of a domain's crops, against all of them at
                128 px (``benchmarks/face_labels.py``). The maps are still
                made at the crop's size.
        """
        for image in (crop, detail if detail is not None else crop):
            if image.ndim != 3 or image.shape[0] != image.shape[1] or image.shape[2] != 3:
                raise DgfasError(f"face labels need a square (S, S, 3) RGB crop, got shape {image.shape}")
        size = crop.shape[0]
        if detail is None:
            landmarks = self.face_mesh.landmarks(crop)
        else:
            landmarks = self.face_mesh.landmarks(detail)
            if landmarks is not None:
                landmarks = landmarks * (size / detail.shape[0])
        if landmarks is None:
            parsing = np.zeros((size, size), np.uint8)
            depth = np.zeros((size, size), np.float32)
        else:
            parsing, depth = rasterize_labels(place_asset(landmarks) * SUPERSAMPLE, size, SUPERSAMPLE)
        if not live:
            depth = np.zeros_like(depth)
        reflection = np.zeros((size, size, 3), np.float32) if live else specular_layer(crop)
        return FaceLabels(
            depth=encode_unit_map(depth),
            parsing=parsing.astype(np.uint8),
            reflection=encode_unit_map(reflection),
            mesh_found=landmarks is not None,
        )
