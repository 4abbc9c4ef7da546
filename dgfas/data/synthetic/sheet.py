"""Where a sheet (an attack medium or a panel) lies before the camera, and what each capture pixel sees of it.

Geometry is in "crop units": the output crop is [0, 1]^2, a medium's content
is a square [0, 1]^2 in (u, v), and :class:`SheetPose` says where one lands on
the other. The sheet is flat (or a cylinder, when bent), so it is lit as a
plane, one normal and no face relief (:func:`flat_shading`), and moves as a
plane (perspective warp, hand-held jitter).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dgfas.data.synthetic.face_render import Lighting


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
