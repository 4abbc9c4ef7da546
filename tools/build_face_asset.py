"""Rebuild ``face_asset.npz``, the 3D face the synthetic domains render.

Run from the repository root, with the checkout's ``dgfas`` on the path, in a
Python that has ``mediapipe==0.10.21`` and ``scikit-image`` (``make
face-asset`` sets one up and runs it)::

    PYTHONPATH=. python tools/build_face_asset.py

It is a build script, not part of the package, so the wheel does not carry
it: the runtime reads the committed npz with numpy alone. The asset is built
from ``skimage.data.astronaut()`` (public domain):

1. MediaPipe's face detector finds the face, the crop is upscaled and the face
   mesh gives 478 landmarks (x, y in photo pixels, z relative depth scaled
   like x). The head pose of the photo is rotated away so the mesh is frontal.
2. ``FACEMESH_TESSELATION`` is a set of edges, so triangles are its 3-cliques
   minus the cliques that enclose another vertex in the frontal 2D layout
   (separating triangles, not faces); cliques wrongly dropped where the photo
   folds the mesh in 2D are added back when they close a hole.
3. Eye and mouth holes are filled with two-row strips whose middle row sits
   slightly behind the lids and lips, the open mouth of the photo is closed,
   a hair cap of extra vertices is added around the upper face oval and a
   skin rim (sides of the jaw, neck) around the lower oval.
4. Every triangle gets a parsing class id (``dgfas.data.frames.PARSING_CLASSES``)
   and a material (textured face, mouth interior, hair); every vertex gets a UV
   into a 128x128 crop of the photo, and weights for the identity and mouth
   deformations that ``dgfas/data/synthetic/mesh.py`` applies.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from dgfas.data.frames import PARSING_CLASSES
from dgfas.data.synthetic.mesh import ASSET_FORMAT_VERSION, ASSET_PATH, MATERIALS

TEXTURE_SIZE = 128
HAIR_TEXTURE_SIZE = 64

# Lid and lip contours of the 468-point mesh, corner to corner. The image-left
# eye is the subject's right eye.
_EYE_LEFT_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
_EYE_LEFT_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
_EYE_RIGHT_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
_EYE_RIGHT_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
_LIP_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
_LIP_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
_LIP_OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
_LIP_OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
_BROW_LEFT = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)  # upper line, then lower back
_BROW_RIGHT = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
_NOSE_TIP = 1
_FOREHEAD_TOP = 10
_CHIN = 152
_LEFT_CHEEK = 205
_RIGHT_CHEEK = 425

# Hair cap rings beyond the face oval: (outward, backward) offsets in
# face-oval widths at the top of the head; they taper towards the temples.
_HAIR_RINGS = ((0.05, 0.02), (0.14, 0.10), (0.21, 0.28), (0.24, 0.52), (0.21, 0.80))
#: Ambient occlusion of the rim rings (jaw side, behind the jaw, neck).
_RIM_OCCLUSION = (0.85, 0.7, 0.6)
_MOUTH_OPEN_DROP = 0.13  # lower-jaw drop at mouth_open = 1, in oval widths


def detect_landmarks(image: np.ndarray) -> np.ndarray:
    """(478, 3) face-mesh landmarks of the one face in ``image``, in pixels.

    The face mesh's own detector is short-range, so the face is found with
    the full-range detector first and the mesh runs on an upscaled square
    crop around it.
    """
    import cv2
    import mediapipe as mp

    height, width = image.shape[:2]
    with mp.solutions.face_detection.FaceDetection(model_selection=1) as detector:
        result = detector.process(image)
    if not result.detections:
        raise RuntimeError("no face found in the source photo")
    box = result.detections[0].location_data.relative_bounding_box
    centre_x = (box.xmin + box.width / 2) * width
    centre_y = (box.ymin + box.height / 2) * height
    side = int(2.0 * max(box.width * width, box.height * height))
    x0 = int(np.clip(centre_x - side / 2, 0, width - side))
    y0 = int(np.clip(centre_y - side / 2, 0, height - side))
    crop = cv2.resize(image[y0 : y0 + side, x0 : x0 + side], (512, 512), interpolation=cv2.INTER_CUBIC)
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1) as mesher:
        result = mesher.process(crop)
    if not result.multi_face_landmarks:
        raise RuntimeError("face mesh found no face in the detector crop")
    points = np.array([[p.x, p.y, p.z] for p in result.multi_face_landmarks[0].landmark], dtype=np.float64)
    return points * side + np.array([x0, y0, 0.0])


def frontalize(points: np.ndarray) -> np.ndarray:
    """Rotate the photo's head pose away; unit = face-oval width.

    Returns coordinates x right, y down, z towards the camera, centred on the
    face oval's bounding box with the oval's rim at z = 0 on average.
    """
    xyz = points * np.array([1.0, 1.0, -1.0])  # mediapipe z is negative towards the camera
    ex = xyz[263] - xyz[33]
    ex /= np.linalg.norm(ex)
    ey = xyz[_CHIN] - xyz[_FOREHEAD_TOP]
    ey -= (ey @ ex) * ex
    ey /= np.linalg.norm(ey)
    ez = np.cross(ex, ey)
    frontal = xyz @ np.stack([ex, ey, ez]).T
    oval = sorted({i for edge in _connections().FACEMESH_FACE_OVAL for i in edge})
    low, high = frontal[oval, :2].min(0), frontal[oval, :2].max(0)
    frontal[:, :2] -= (low + high) / 2
    frontal[:, 2] -= frontal[oval, 2].mean()
    return frontal / (high[0] - low[0])


def _connections():
    from mediapipe.python.solutions import face_mesh_connections

    return face_mesh_connections


def _cross2d(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a[..., 0] - o[..., 0]) * (b[..., 1] - o[..., 1]) - (a[..., 1] - o[..., 1]) * (b[..., 0] - o[..., 0])


def _edges_of(triangles) -> Counter:
    return Counter(tuple(sorted(e)) for t in triangles for e in ((t[0], t[1]), (t[1], t[2]), (t[0], t[2])))


def mesh_triangles(edges: set[tuple[int, int]], layout: np.ndarray) -> np.ndarray:
    """Faces of a triangulation given only as edges, (T, 3) vertex ids.

    Args:
        edges: undirected edges.
        layout: (V, 2) vertex positions in a near-planar layout.
    """
    neighbours = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    cliques = sorted({tuple(sorted((a, b, c))) for a, b in edges for c in neighbours[a] & neighbours[b]})
    cliques = np.array(cliques)
    corners = layout[cliques]  # (T, 3, 2)
    others = layout[None, :, :]
    sides = np.stack(
        [_cross2d(corners[:, i, None], corners[:, (i + 1) % 3, None], others) for i in range(3)], axis=-1
    )
    encloses = ((sides > 0).all(-1) | (sides < 0).all(-1)).any(1)
    kept = [tuple(t) for t in cliques[~encloses]]
    # A face lost to a 2D fold of the photo closes a hole: its edges are used
    # at most once so far, whereas a separating triangle's edges are all used twice.
    for clique in map(tuple, cliques[encloses]):
        used = _edges_of(kept)
        if all(used[e] < 2 for e in _edges_of([clique])):
            kept.append(clique)
    return np.array(kept)


def _ordered_loop(edges) -> list[int]:
    neighbours = defaultdict(list)
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    start = min(neighbours)
    loop, previous = [start], None
    while True:
        nxt = [n for n in neighbours[loop[-1]] if n != previous][0]
        if nxt == start:
            return loop
        previous = loop[-1]
        loop.append(nxt)


def _zip_strip(upper: list[int], lower: list[int]) -> list[tuple[int, int, int]]:
    """Triangles between two vertex rows of equal length (quads split in two)."""
    triangles = []
    for i in range(len(upper) - 1):
        a, b, c, d = upper[i], upper[i + 1], lower[i + 1], lower[i]
        if a == d:
            triangles.append((a, b, c))
        elif b == c:
            triangles.append((a, b, d))
        else:
            triangles += [(a, b, c), (a, c, d)]
    return triangles


def _inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test, (N,) bool."""
    from skimage.measure import points_in_poly

    return points_in_poly(points, polygon)


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _hair_texture(rng: np.random.Generator) -> np.ndarray:
    """(64, 64) uint8 strand pattern: streaks along v (across the cap rings)."""
    size = HAIR_TEXTURE_SIZE
    u = np.linspace(0, 1, size, endpoint=False)
    strands = np.zeros(size)
    for frequency in (7, 13, 23, 41):
        strands += np.cos(2 * np.pi * (frequency * u + rng.uniform())) / np.sqrt(frequency)
    along = rng.normal(size=(size, 8)).cumsum(1)  # slow drift of each strand along v
    drift = np.stack([np.interp(np.linspace(0, 7, size), np.arange(8), row) for row in along])
    pattern = strands[:, None] + 0.15 * drift + 0.3 * rng.normal(size=(size, size))
    pattern = (pattern - pattern.min()) / np.ptp(pattern)
    return (255 * pattern.T).astype(np.uint8)  # rows = v, columns = u


def build() -> dict[str, np.ndarray]:
    """Every array of the asset, keyed as saved."""
    import cv2
    import skimage.data

    connections = _connections()
    photo = skimage.data.astronaut()
    photo_points = detect_landmarks(photo)[:468]
    frontal = frontalize(photo_points)

    edges = {tuple(sorted(e)) for e in connections.FACEMESH_TESSELATION}
    face_triangles = [tuple(t) for t in mesh_triangles(edges, frontal[:, :2])]

    # Texture: a square crop around the landmarks, UVs in [0, 1].
    low, high = photo_points[:, :2].min(0), photo_points[:, :2].max(0)
    side = (high - low).max() * 1.06
    origin = (low + high) / 2 - side / 2
    box = np.round(np.r_[origin, origin + side]).astype(int)
    texture = cv2.resize(
        photo[box[1] : box[3], box[0] : box[2]], (TEXTURE_SIZE, TEXTURE_SIZE), interpolation=cv2.INTER_AREA
    )
    uv = (photo_points[:, :2] - box[:2]) / (box[2:] - box[:2])

    vertices = [*frontal]
    uvs = [*uv]
    triangles: list[tuple[int, int, int]] = []
    materials: list[int] = []

    def add_vertex(position: np.ndarray, texcoord: np.ndarray) -> int:
        vertices.append(np.asarray(position, dtype=np.float64))
        uvs.append(np.asarray(texcoord, dtype=np.float64))
        return len(vertices) - 1

    def add(new_triangles, material: str) -> None:
        triangles.extend(new_triangles)
        materials.extend([MATERIALS.index(material)] * len(new_triangles))

    add(face_triangles, "face")

    def middle_row(upper, lower, depth: float) -> list[int]:
        row = [upper[0]]
        for a, b in zip(upper[1:-1], lower[1:-1]):
            row.append(add_vertex((frontal[a] + frontal[b]) / 2 - np.array([0, 0, depth]), (uv[a] + uv[b]) / 2))
        return row + [upper[-1]]

    eye_rows = []
    for upper, lower in ((_EYE_LEFT_UPPER, _EYE_LEFT_LOWER), (_EYE_RIGHT_UPPER, _EYE_RIGHT_LOWER)):
        middle = middle_row(upper, lower, 0.004)
        add(_zip_strip(list(upper), middle) + _zip_strip(middle, list(lower)), "face")
        eye_rows.append(middle)
    mouth_middle = middle_row(_LIP_INNER_UPPER, _LIP_INNER_LOWER, 0.03)
    mouth_fill = _zip_strip(list(_LIP_INNER_UPPER), mouth_middle) + _zip_strip(mouth_middle, list(_LIP_INNER_LOWER))
    add(mouth_fill, "mouth_interior")

    n_face = len(vertices)
    positions = np.array(vertices)
    layout = positions[:, :2].copy()  # photo-open frontal layout, for orientation and labels

    # Mouth opening: the jaw drops below the upper inner lip line, smoothly
    # fading towards the mouth corners and the sides of the jaw.
    upper_x = frontal[list(_LIP_INNER_UPPER), 0]
    upper_y = frontal[list(_LIP_INNER_UPPER), 1]
    order = np.argsort(upper_x)
    line_y = np.interp(layout[:, 0], upper_x[order], upper_y[order])
    mouth_centre_x = frontal[[61, 291], 0].mean()
    lateral = np.exp(-0.5 * ((layout[:, 0] - mouth_centre_x) / 0.2) ** 2)
    below = _smoothstep(0.0, 0.035, layout[:, 1] - line_y)
    upper_lip = _inside(layout, frontal[list(_LIP_OUTER_UPPER) + list(_LIP_INNER_UPPER[::-1]), :2])
    upper_lip[list(_LIP_OUTER_UPPER + _LIP_INNER_UPPER)] = True
    jaw_weight = np.where(upper_lip, 0.0, lateral * below)
    jaw_weight[mouth_middle[1:-1]] = 0.5 * jaw_weight[list(_LIP_INNER_LOWER[1:-1])]
    lower_inner = list(_LIP_INNER_LOWER[1:-1])
    jaw_weight[lower_inner] = np.maximum(jaw_weight[lower_inner], 0.35 * lateral[lower_inner])  # the lip itself opens
    mouth_offset = np.zeros((n_face, 3))
    mouth_offset[:, 1] = _MOUTH_OPEN_DROP * jaw_weight
    mouth_offset[:, 2] = -0.03 * jaw_weight
    mouth_offset[mouth_middle[1:-1], 2] -= 0.06  # the opened mouth is a cavity

    # Close the photo's open smile: inner lips meet halfway, the lip rows
    # between inner and outer contours follow in proportion.
    gap = frontal[list(_LIP_INNER_LOWER), 1] - frontal[list(_LIP_INNER_UPPER), 1]
    gap_at = np.interp(layout[:, 0], upper_x[order], gap[order])
    outer_upper_y = np.interp(layout[:, 0], *_sorted_xy(frontal, _LIP_OUTER_UPPER))
    outer_lower_y = np.interp(layout[:, 0], *_sorted_xy(frontal, _LIP_OUTER_LOWER))
    lower_y = np.interp(layout[:, 0], *_sorted_xy(frontal, _LIP_INNER_LOWER))
    lips_region = _inside(layout, frontal[list(_LIP_OUTER_UPPER) + list(_LIP_OUTER_LOWER[::-1]), :2])
    lips_region[list(_LIP_OUTER_UPPER + _LIP_OUTER_LOWER + _LIP_INNER_UPPER + _LIP_INNER_LOWER)] = True
    lips_region[mouth_middle] = True
    toward_upper = np.clip((layout[:, 1] - outer_upper_y) / np.maximum(line_y - outer_upper_y, 1e-6), 0, 1)
    toward_lower = np.clip((outer_lower_y - layout[:, 1]) / np.maximum(outer_lower_y - lower_y, 1e-6), 0, 1)
    shift = np.where(upper_lip, toward_upper, -toward_lower) * gap_at / 2
    shift[mouth_middle] = 0.0
    positions[:, 1] += np.where(lips_region, shift, 0.0)
    positions[list(_LIP_INNER_UPPER[1:-1]), 1] = positions[mouth_middle[1:-1], 1]
    positions[list(_LIP_INNER_LOWER[1:-1]), 1] = positions[mouth_middle[1:-1], 1]

    # Parsing classes from the open frontal layout (triangle centroids).
    triangles_array = np.array(triangles)
    centroids = layout[triangles_array].mean(1)
    classes = np.full(len(triangles), PARSING_CLASSES.index("skin"), dtype=np.uint8)
    nose_ids = sorted({i for edge in connections.FACEMESH_NOSE for i in edge})
    nose_hull = _convex_hull(frontal[nose_ids, :2])
    for name, polygon in (
        ("nose", nose_hull),
        ("brows", frontal[list(_BROW_LEFT), :2]),
        ("brows", frontal[list(_BROW_RIGHT), :2]),
        ("lips", frontal[list(_LIP_OUTER_UPPER) + list(_LIP_OUTER_LOWER[::-1]), :2]),
    ):
        classes[_inside(centroids, polygon)] = PARSING_CLASSES.index(name)
    eye_fill = set()
    eye_contours = ((_EYE_LEFT_UPPER, _EYE_LEFT_LOWER), (_EYE_RIGHT_UPPER, _EYE_RIGHT_LOWER))
    for (upper, lower), middle in zip(eye_contours, eye_rows):
        eye_fill |= {tuple(t) for t in _zip_strip(list(upper), middle) + _zip_strip(middle, list(lower))}
    classes[[tuple(t) in eye_fill for t in triangles]] = PARSING_CLASSES.index("eyes")
    classes[np.array(materials) == MATERIALS.index("mouth_interior")] = PARSING_CLASSES.index("lips")

    # Identity weights: nose region and lower face (for jaw width).
    nose_tip = frontal[_NOSE_TIP]
    nose_distance = np.hypot((layout[:, 0] - nose_tip[0]) / 0.09, (layout[:, 1] - (nose_tip[1] - 0.08)) / 0.2)
    nose_weight = np.exp(-0.5 * nose_distance**2)
    lower_face_weight = _smoothstep(nose_tip[1], frontal[_CHIN, 1], layout[:, 1])

    # Hair cap and jaw/neck rim: rings of new vertices outside the face oval,
    # each hanging from an oval vertex (its anchor) so it follows the face's
    # deformation. The hair covers the oval above the ears, the rim the rest.
    oval = _ordered_loop({tuple(sorted(e)) for e in connections.FACEMESH_FACE_OVAL})
    top = oval.index(_FOREHEAD_TOP)
    oval = oval[top:] + oval[:top]
    cutoff_y = frontal[_NOSE_TIP, 1] - 0.02  # hair reaches down to about the ears' middle
    end_a = next(i for i, v in enumerate(oval) if frontal[v, 1] >= cutoff_y)
    end_b = next(i for i, v in enumerate(oval[::-1]) if frontal[v, 1] >= cutoff_y)
    hair_arc = oval[len(oval) - end_b :] + oval[:end_a]  # one side, over the top, other side
    rim_arc = oval[end_a - 1 : len(oval) - end_b + 1]  # one side, under the chin, other side
    head_centre = np.array([0.0, frontal[_NOSE_TIP, 1] - 0.15])
    anchors: list[int] = []

    def add_rings(arc: list[int], offsets, texcoords) -> list[tuple[int, int, int]]:
        rows = [arc]
        for ring, ring_offsets in enumerate(offsets):
            rows.append([add_vertex(frontal[a] + o, t) for a, o, t in zip(arc, ring_offsets, texcoords(ring))])
            anchors.extend(arc)
        return [t for inner, outer in zip(rows[:-1], rows[1:]) for t in _zip_strip(inner, outer)]

    hair_along = _arc_length(frontal[hair_arc, :2])
    outward = frontal[hair_arc, :2] - head_centre
    outward /= np.linalg.norm(outward, axis=1, keepdims=True)
    taper = np.sin(np.pi * hair_along) ** 0.6
    reach = taper * (0.45 + 0.55 * np.clip(-outward[:, 1], 0, 1))  # fuller on top than at the temples
    hair_offsets = [
        np.c_[out * reach[:, None] * outward, -back * (0.3 + 0.7 * taper)] for out, back in _HAIR_RINGS
    ]
    hair_triangles = add_rings(
        hair_arc, hair_offsets, lambda ring: np.c_[hair_along, np.full(len(hair_arc), (ring + 1) / len(_HAIR_RINGS))]
    )
    n_hair_vertices = len(vertices)

    rim = frontal[rim_arc]
    outward = rim[:, :2] - head_centre
    outward /= np.linalg.norm(outward, axis=1, keepdims=True)
    neck_bottom = frontal[_CHIN, 1] + 0.75
    rim_offsets = [
        np.c_[0.02 * outward, np.full(len(rim_arc), -0.1)],
        np.c_[-0.02 * outward, np.full(len(rim_arc), -0.3)],
        np.c_[-0.5 * rim[:, :1], neck_bottom - rim[:, 1], -0.42 - rim[:, 2]],  # neck: narrower, down to below the crop
    ]
    inward_uv = uv[rim_arc] + 0.15 * (uv[_NOSE_TIP] - uv[rim_arc])  # skin just inside the oval
    rim_triangles = add_rings(rim_arc, rim_offsets, lambda ring: inward_uv)

    added = len(vertices) - n_face
    positions = np.vstack([positions, np.array(vertices[n_face:])])
    layout = np.vstack([layout, positions[n_face:, :2]])
    anchor = np.r_[np.full(n_face, -1), anchors].astype(np.int32)
    anchor_offset = np.zeros((len(vertices), 3))
    anchor_offset[n_face:] = positions[n_face:] - frontal[anchors]
    hair_vertex = np.zeros(len(vertices), dtype=bool)
    hair_vertex[n_face:n_hair_vertices] = True
    # Light the renderer cannot shadow: the jaw's sides and the neck sit
    # under the chin.
    occlusion = np.ones(len(vertices))
    occlusion[n_hair_vertices:] = np.repeat(_RIM_OCCLUSION, len(rim_arc))

    # Orientation: counter-clockwise in the open frontal layout (y down), so
    # the algebraic normal (v1 - v0) x (v2 - v0) points towards the camera.
    # Strips fold over in 2D, so a strip group turns as a whole, by majority.
    n_mesh_triangles = len(triangles)
    triangles_array = np.array(triangles + hair_triangles + rim_triangles)
    flip = _cross2d(*(layout[triangles_array[:, i]] for i in range(3))) < 0
    hair_group = slice(n_mesh_triangles, n_mesh_triangles + len(hair_triangles))
    rim_group = slice(hair_group.stop, len(triangles_array))
    for group in (hair_group, rim_group):
        flip[group] = flip[group].mean() > 0.5
    triangles_array[flip] = triangles_array[flip][:, ::-1]
    materials += [MATERIALS.index("hair")] * len(hair_triangles) + [MATERIALS.index("face")] * len(rim_triangles)
    classes = np.r_[
        classes,
        np.full(len(hair_triangles), PARSING_CLASSES.index("hair"), dtype=np.uint8),
        np.full(len(rim_triangles), PARSING_CLASSES.index("skin"), dtype=np.uint8),
    ]

    pad = np.zeros(added)
    nose_weight = np.r_[nose_weight[:n_face], pad]
    lower_face_weight = np.r_[lower_face_weight[:n_face], pad]
    mouth_offset = np.vstack([mouth_offset, np.zeros((added, 3))])

    # Hair triangles sample the hair texture through (u, v) = (along the arc,
    # ring / n_rings); their anchors on the oval are shared with the face, so
    # hair UVs live in a table of their own.
    hair_uv = np.zeros((len(vertices), 2))
    hair_uv[hair_arc] = np.c_[hair_along, np.zeros(len(hair_arc))]
    hair_uv[hair_vertex] = np.array(uvs)[hair_vertex]
    uvs = np.array(uvs)
    uvs[hair_vertex] = uvs[anchor[hair_vertex]]  # face UVs of hair vertices are never sampled

    texture_parsing = _rasterize_labels(uvs, triangles_array[:n_mesh_triangles], classes[:n_mesh_triangles])
    keypoints = np.array([_NOSE_TIP, _LEFT_CHEEK, _RIGHT_CHEEK, _FOREHEAD_TOP, _CHIN], dtype=np.int32)
    return {
        "format_version": np.array(ASSET_FORMAT_VERSION),
        "vertices": positions.astype(np.float32),
        "triangles": triangles_array.astype(np.int32),
        "triangle_class": classes,
        "triangle_material": np.array(materials, dtype=np.uint8),
        "uv": np.array(uvs, dtype=np.float32),
        "hair_uv": hair_uv.astype(np.float32),
        "texture": texture,
        "texture_parsing": texture_parsing,
        "hair_texture": _hair_texture(np.random.default_rng(0)),
        "mouth_offset": mouth_offset.astype(np.float32),
        "nose_weight": nose_weight.astype(np.float32),
        "lower_face_weight": lower_face_weight.astype(np.float32),
        "anchor": anchor,
        "anchor_offset": anchor_offset.astype(np.float32),
        "hair_vertex": hair_vertex,
        "occlusion": occlusion.astype(np.float32),
        "keypoint_names": np.array(["nose_tip", "left_cheek", "right_cheek", "forehead_top", "chin"]),
        "keypoints": keypoints,
    }


def _arc_length(points: np.ndarray) -> np.ndarray:
    """(N,) normalised arc length along a polyline, 0 at its start, 1 at its end."""
    step = np.linalg.norm(np.diff(points, axis=0), axis=1)
    return np.r_[0, np.cumsum(step)] / step.sum()


def _sorted_xy(points: np.ndarray, ids) -> tuple[np.ndarray, np.ndarray]:
    xy = points[list(ids), :2]
    order = np.argsort(xy[:, 0])
    return xy[order, 0], xy[order, 1]


def _convex_hull(points: np.ndarray) -> np.ndarray:
    from scipy.spatial import ConvexHull

    return points[ConvexHull(points).vertices]


def _rasterize_labels(uv: np.ndarray, triangles: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """(128, 128) uint8 parsing class of each texel, from the triangles' UVs."""
    from skimage.draw import polygon

    labels = np.zeros((TEXTURE_SIZE, TEXTURE_SIZE), dtype=np.uint8)
    for triangle, label in zip(triangles, classes):
        corners = uv[triangle] * TEXTURE_SIZE - 0.5
        rows, cols = polygon(corners[:, 1], corners[:, 0], labels.shape)
        labels[rows, cols] = label
    return labels


def main() -> None:
    asset = build()
    np.savez_compressed(ASSET_PATH, **asset)
    print(f"wrote {ASSET_PATH} ({ASSET_PATH.stat().st_size / 1024:.0f} KiB, "
          f"{len(asset['vertices'])} vertices, {len(asset['triangles'])} triangles)")


if __name__ == "__main__":
    main()
