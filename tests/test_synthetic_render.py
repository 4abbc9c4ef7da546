"""The committed face asset and the numpy face renderer."""

from __future__ import annotations

import numpy as np
import pytest

from dgfas.data.frames import PARSING_CLASSES
from dgfas.data.synthetic.mesh import ASSET_PATH, Identity, load_asset, sample_identity
from dgfas.data.synthetic.render import FaceRender, Lighting, Pose, render_face

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
