"""The committed face asset and the numpy face renderer."""

from __future__ import annotations

import numpy as np
import pytest

from dgfas.data.frames import PARSING_CLASSES
from dgfas.data.synthetic.mesh import ASSET_PATH, Identity, load_asset, sample_identity
from dgfas.data.synthetic.face_render import FaceRender, Lighting, Pose, render_face

SIZE = 96


def _render(identity: Identity = Identity(), pose: Pose = Pose(), size: int = SIZE) -> FaceRender:
    background = np.full((size, size, 3), 0.5, dtype=np.float32)
    return render_face(identity, pose, Lighting(), size, background)


def test_asset_is_small_and_consistent():
    assert ASSET_PATH.stat().st_size < 1_000_000
    asset = load_asset()
    n_vertices = len(asset.vertices)
    assert asset.triangles.min() >= 0 and asset.triangles.max() < n_vertices
    assert len(asset.triangle_class) == len(asset.triangles) == len(asset.triangle_material)
    assert set(np.unique(asset.triangle_class)) == set(range(1, len(PARSING_CLASSES)))
    assert asset.uv.shape == (n_vertices, 2) and 0 <= asset.uv.min() and asset.uv.max() <= 1


@pytest.mark.parametrize("size", [64, 256])
def test_frontal_render_shows_every_class_and_background(size):
    face = _render(size=size)
    assert face.image.shape == (size, size, 3) and face.image.dtype == np.float32
    assert 0.0 <= face.image.min() and face.image.max() <= 1.0
    assert set(np.unique(face.parsing)) == set(range(len(PARSING_CLASSES)))
    # A detector-style crop: background visible at the corners, face in the middle.
    assert face.parsing[0, 0] == 0 and face.parsing[size // 2, size // 2] != 0
    assert 0.3 < face.mask.mean() < 0.8


def test_depth_is_zero_exactly_off_the_head():
    face = _render(pose=Pose(yaw=20, pitch=-10))
    background = face.parsing == 0
    np.testing.assert_array_equal(face.mask, ~background)
    assert (face.depth[background] == 0).all()
    assert (face.depth[~background] > 0).all() and face.depth.max() == pytest.approx(1.0)


def test_nose_tip_is_nearer_than_the_cheeks():
    face = _render()
    nose = np.argwhere(face.parsing == PARSING_CLASSES.index("nose"))
    tip_row, tip_col = nose[np.argmax(face.depth[nose[:, 0], nose[:, 1]])]
    eyes = np.argwhere(face.parsing == PARSING_CLASSES.index("eyes"))
    cheek_row = (eyes[:, 0].mean() + SIZE * 0.08).astype(int)
    left, right = int(eyes[:, 1].min()), int(eyes[:, 1].max())
    for cheek_col in (left, right):
        assert face.parsing[cheek_row, cheek_col] == PARSING_CLASSES.index("skin")
        assert face.depth[tip_row, tip_col] > face.depth[cheek_row, cheek_col] + 0.1
    assert left < tip_col < right


def test_yaw_changes_the_image():
    assert np.abs(_render().image - _render(pose=Pose(yaw=25)).image).mean() > 0.01


def test_same_inputs_give_identical_outputs():
    identity = sample_identity(np.random.default_rng(7))
    first, second = _render(identity, Pose(yaw=10, mouth_open=0.5)), _render(identity, Pose(yaw=10, mouth_open=0.5))
    for name in ("image", "depth", "parsing", "mask"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert sample_identity(np.random.default_rng(7)) == identity


def test_identities_differ():
    rng = np.random.default_rng(0)
    first, second = sample_identity(rng), sample_identity(rng)
    assert first != second
    assert np.abs(_render(first).image - _render(second).image).mean() > 0.02


def test_open_mouth_enlarges_the_lips_area():
    lips = PARSING_CLASSES.index("lips")
    closed = (_render().parsing == lips).sum()
    opened = (_render(pose=Pose(mouth_open=1.0)).parsing == lips).sum()
    assert opened > 1.3 * closed


def test_background_of_the_wrong_shape_is_refused():
    from dgfas.errors import DgfasError

    with pytest.raises(DgfasError, match="background"):
        render_face(Identity(), Pose(), Lighting(), 32, np.zeros((16, 16, 3), np.float32))


def _screen(pose: Pose, grid: int, offset: tuple[float, float]) -> np.ndarray:
    """Asset vertices placed on a ``grid`` px raster as render_face places them, shifted by ``offset`` px."""
    from dgfas.data.synthetic.mesh import face_vertices
    from dgfas.data.synthetic.face_render import _PIVOT, CAMERA_DISTANCE, rotation_matrix

    vertices = (face_vertices(Identity(), pose.mouth_open) - _PIVOT) @ rotation_matrix(pose.yaw, pose.pitch,
                                                                                       pose.roll).T + _PIVOT
    perspective = CAMERA_DISTANCE / (CAMERA_DISTANCE - vertices[:, 2])
    screen = vertices.copy()
    screen[:, :2] = pose.scale * grid * vertices[:, :2] * perspective[:, None] + grid / 2 + np.asarray(offset)
    return screen


@pytest.mark.parametrize("offset", [(0.0, 0.0), (9.3, -12.6)])  # the second puts part of the head off the raster
def test_rasterizer_finds_the_nearest_triangle_of_every_pixel(offset):
    from dgfas.data.synthetic.render import rasterize

    grid = 40
    screen = _screen(Pose(yaw=25, pitch=-10, roll=8, mouth_open=0.7), grid, offset)
    triangles = load_asset().triangles
    pixel, triangle, weights = rasterize(screen, triangles, grid)
    # reference: every pixel centre against every triangle, in float64
    centre = (np.stack(np.meshgrid(np.arange(grid), np.arange(grid), indexing="xy"), -1).reshape(-1, 2) + 0.5)
    a, b, c = (screen[triangles[:, i], :2] for i in range(3))

    def cross(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        return p[..., 0] * q[..., 1] - p[..., 1] * q[..., 0]

    area = cross(b - a, c - a)
    keep = np.abs(area) > 1e-9
    a, b, c, area, z = a[keep], b[keep], c[keep], area[keep], screen[triangles[keep]][:, :, 2]
    w0 = cross(c[None] - b[None], centre[:, None] - b[None]) / area
    w1 = cross(a[None] - c[None], centre[:, None] - c[None]) / area
    w2 = 1.0 - w0 - w1
    inside = (w0 >= 1e-6) & (w1 >= 1e-6) & (w2 >= 1e-6)  # strictly inside: edges may go either way
    depth = np.where(inside, w0 * z[:, 0] + w1 * z[:, 1] + w2 * z[:, 2], -np.inf)
    covered = np.isfinite(depth.max(1))
    assert covered.sum() > 0.2 * grid * grid
    assert set(np.flatnonzero(covered)) <= set(pixel)  # every pixel strictly inside a triangle is drawn
    drawn = np.full(grid * grid, -np.inf)
    drawn[pixel] = (weights * screen[triangles[triangle]][:, :, 2].T).sum(0)
    np.testing.assert_allclose(drawn[covered], depth.max(1)[covered], atol=1e-4)
    np.testing.assert_allclose(weights.sum(0), 1.0, atol=1e-4)
    assert (weights >= -1e-5).all()


def test_one_sample_a_pixel_renders_the_same_face_as_a_supersample():
    # shoot_video renders at twice the output size with one sample a pixel (shoot.FACE_SUPERSAMPLE)
    background = np.random.default_rng(0).random((128, 128, 3)).astype(np.float32)
    identity, pose = sample_identity(np.random.default_rng(3)), Pose(yaw=12, pitch=-5, mouth_open=0.4)
    single = render_face(identity, pose, Lighting(), 128, background, supersample=1)
    double = render_face(identity, pose, Lighting(), 128, background, supersample=2)
    assert np.abs(single.image - double.image).mean() < 0.01
    assert (single.parsing == double.parsing).mean() > 0.97
    assert np.abs(single.depth - double.depth).mean() < 0.01


@pytest.mark.parametrize(("shape", "shrink"), [((64, 64, 3), 1), ((64, 64), 1), ((10, 14, 3), 1), ((64, 64, 3), 2),
                                                ((64, 64), 2)])
@pytest.mark.parametrize("sigma", [0.3, 0.8, 2.0])
def test_gaussian_blur_is_scipys_filter_then_a_box_resize(shape, shrink, sigma):
    from scipy import ndimage

    from dgfas.data.synthetic.camera import gaussian_blur, resize

    image = np.random.default_rng(0).random(shape).astype(np.float32)
    expected = ndimage.gaussian_filter(image, sigma=(sigma, sigma, 0)[: image.ndim], mode="nearest")
    if shrink > 1:
        expected = resize(expected, shape[0] // shrink)
    np.testing.assert_allclose(gaussian_blur(image, sigma, shrink), expected, atol=1e-5)


def test_sheet_lookups_read_as_map_coordinates_does():
    from scipy import ndimage

    from dgfas.data.synthetic.sheet import SheetMap, sample

    rng = np.random.default_rng(0)
    # reads inside, off every edge of the content, and at non-finite coordinates
    u = rng.uniform(-0.3, 1.3, (20, 20)).astype(np.float32)
    v = rng.uniform(-0.3, 1.3, (20, 20)).astype(np.float32)
    u[0, :3] = [np.inf, -np.inf, np.nan]
    smap = SheetMap(u=u, v=v, normal=np.array([[[0.0, 0.0, 1.0]]], np.float32))
    image = rng.random((16, 16, 3)).astype(np.float32)
    labels = rng.integers(0, 7, (16, 16)).astype(np.uint8)
    coordinates = [np.nan_to_num(c * 16 - 0.5, posinf=-10.0, neginf=-10.0) for c in (v, u)]
    expected = np.stack([ndimage.map_coordinates(image[..., c], coordinates, order=1, mode="nearest")
                         for c in range(3)], -1)
    np.testing.assert_allclose(sample(image, smap), expected, atol=1e-6)
    np.testing.assert_array_equal(sample(labels, smap, nearest=True),
                                  ndimage.map_coordinates(labels, coordinates, order=0, mode="nearest"))


@pytest.mark.parametrize(("size", "cells"), [(512, 3), (64, 16), (48, 5)])
def test_smooth_noise_is_a_linear_zoom_of_its_grid(size, cells):
    from scipy import ndimage

    from dgfas.data.synthetic.scene import smooth_noise

    grid = np.random.default_rng(1).uniform(-1.0, 1.0, (cells + 1, cells + 1))
    expected = ndimage.zoom(grid, size / (cells + 1), order=1, mode="nearest")[:size, :size]
    np.testing.assert_allclose(smooth_noise(np.random.default_rng(1), size, cells), expected, atol=1e-6)


def test_generation_benchmark_prints_its_figures_and_compares_runs(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "synthetic_generation.py"
    common = [sys.executable, str(script), "--size", "32", "--frames", "2"]
    saved = subprocess.run([*common, "--save-ref", str(tmp_path / "ref.npz")], capture_output=True, text=True,
                           timeout=300, check=False)
    assert saved.returncode == 0, saved.stderr
    assert "overall:" in saved.stdout and "s per frame" in saved.stdout
    compared = subprocess.run([*common, "--compare-ref", str(tmp_path / "ref.npz")], capture_output=True, text=True,
                              timeout=300, check=False)
    assert compared.returncode == 0, compared.stderr
    # one seed, one process: the same videos again, to the byte, in every domain
    from dgfas.data.synthetic.domains import DOMAINS

    assert compared.stdout.count("image MAD 0.00 levels") == len(DOMAINS) == 5
    assert compared.stdout.count("parsing agreement 1.000") == len(DOMAINS)
