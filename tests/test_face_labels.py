"""Labels of real face crops: FaceMesh on LiteRT, the asset placed on its landmarks, the glare estimate.

Thresholds sit below what ``benchmarks/face_labels.py`` measures (see the
comments) with slack for the platform's float differences.
"""

import numpy as np
import pytest
from skimage import data

from dgfas.data.frames import encode_unit_map
from dgfas.data.corpora.facemesh import FaceMesh
from dgfas.data.corpora.labels import FaceLabeller, place_asset, similarity_transform, specular_layer
from dgfas.data.frames import PARSING_CLASSES
from dgfas.data.synthetic.domains import DOMAINS
from dgfas.data.synthetic.mesh import load_asset
from dgfas.data.synthetic.face_render import rotation_matrix
from dgfas.data.synthetic.shoot import Video, shoot_video
from dgfas.errors import DgfasError

# skimage's astronaut: face box x 177-272, y 66-161, cropped with 20% margin.
_BOX, _MARGIN = (177, 66, 95), 19


@pytest.fixture(scope="module")
def labeller():
    return FaceLabeller()


@pytest.fixture(scope="module")
def astronaut():
    x, y, side = _BOX
    return data.astronaut()[y - _MARGIN:y + side + _MARGIN, x - _MARGIN:x + side + _MARGIN]


def _noise(size: int = 96) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)


def test_similarity_transform_recovers_a_known_one():
    source = np.random.default_rng(0).normal(size=(50, 3))
    rotation = rotation_matrix(20.0, -10.0, 5.0)
    scale, found_rotation, shift = similarity_transform(source, 3.0 * source @ rotation.T + [1.0, 2.0, 3.0])
    assert scale == pytest.approx(3.0)
    np.testing.assert_allclose(found_rotation, rotation, atol=1e-9)
    np.testing.assert_allclose(shift, [1.0, 2.0, 3.0], atol=1e-9)


def test_place_asset_on_transformed_neutral_landmarks_moves_the_whole_asset():
    neutral = load_asset().vertices.astype(np.float64)
    rotation = rotation_matrix(10.0, 5.0, -8.0)
    moved = 80.0 * neutral @ rotation.T + [64.0, 60.0, 0.0]
    np.testing.assert_allclose(place_asset(moved[:468]), moved, atol=1e-4)  # float32 offsets


def test_facemesh_on_the_astronaut_is_in_crop_pixels_with_larger_z_nearer(labeller, astronaut):
    points = labeller.face_mesh.landmarks(astronaut)
    assert points.shape == (468, 3)
    size = astronaut.shape[0]
    assert np.all((points[:, :2] > -0.1 * size) & (points[:, :2] < 1.1 * size))
    nose_tip, chin, right_cheek_edge, left_cheek_edge = points[[1, 152, 234, 454]]
    assert abs(nose_tip[0] - size / 2) < 0.1 * size  # a frontal face in a centred crop
    assert chin[1] > nose_tip[1]
    assert nose_tip[2] > max(right_cheek_edge[2], left_cheek_edge[2]) + 0.2 * size  # nose nearer than the face's sides


def test_facemesh_finds_no_face_in_noise_and_names_a_missing_model(labeller, tmp_path):
    assert labeller.face_mesh.landmarks(_noise()) is None
    with pytest.raises(DgfasError, match="missing.*make setup"):
        FaceMesh(tmp_path / "absent.tflite")


def test_astronaut_labels_are_plausible(labeller, astronaut):
    labels = labeller.labels(astronaut, live=True)
    size = astronaut.shape[0]
    assert labels.mesh_found
    assert labels.depth.dtype == np.uint8 and labels.parsing.dtype == np.uint8
    box = np.zeros((size, size), bool)
    box[_MARGIN:-_MARGIN, _MARGIN:-_MARGIN] = True
    assert ((labels.parsing > 0) & box).sum() / box.sum() > 0.85  # measured 0.93
    depth = labels.depth.astype(np.float32) / 255  # uint8 codes of [0, 1]
    assert depth.max() == 1.0 and depth[labels.parsing > 0].min() >= 0.099
    nearest_y, nearest_x = np.unravel_index(depth.argmax(), depth.shape)
    nose_tip = labeller.face_mesh.landmarks(astronaut)[1]
    assert np.hypot(nearest_x - nose_tip[0], nearest_y - nose_tip[1]) < 0.08 * size  # measured 0.04

    def centre(name):
        rows, cols = np.nonzero(labels.parsing == PARSING_CLASSES.index(name))
        assert len(rows) > 0, name
        return cols.mean() / size, rows.mean() / size

    nose, lips, eyes, brows, hair = (centre(n) for n in ("nose", "lips", "eyes", "brows", "hair"))
    assert abs(nose[0] - 0.5) < 0.08 and abs(nose[1] - 0.55) < 0.1  # measured (0.49, 0.55)
    assert hair[1] < brows[1] < eyes[1] < nose[1] < lips[1]
    assert abs(lips[0] - nose[0]) < 0.05


def test_spoofs_get_zero_depth_and_a_glare_estimate_lives_none(labeller, astronaut):
    live, spoof = labeller.labels(astronaut, live=True), labeller.labels(astronaut, live=False)
    assert not spoof.depth.any() and spoof.depth.shape == live.depth.shape
    np.testing.assert_array_equal(spoof.parsing, live.parsing)  # the face shown, as the synthetic spoofs
    assert not live.reflection.any()
    assert spoof.reflection.shape == astronaut.shape and spoof.reflection.dtype == np.uint8
    np.testing.assert_array_equal(spoof.reflection[..., 0], spoof.reflection[..., 2])  # achromatic
    np.testing.assert_array_equal(spoof.reflection, encode_unit_map(specular_layer(astronaut)))  # 0-255 codes


def test_no_face_gives_background_and_says_so(labeller):
    labels = labeller.labels(_noise(), live=True)
    assert not labels.mesh_found
    assert not labels.depth.any() and not labels.parsing.any()


def test_crops_must_be_square_rgb(labeller):
    with pytest.raises(DgfasError, match="square"):
        labeller.labels(_noise()[:80], live=True)


@pytest.mark.parametrize("domain", list(DOMAINS))
def test_live_labels_agree_with_the_synthetic_ground_truth(labeller, domain):
    ious, correlations, accuracies = [], [], []
    for subject in (0, 1):
        video = shoot_video(Video(domain=domain, subject=subject, index=0, split="train", attack=-1, frames=2,
                                  size=128, seed=0))
        for image, depth, parsing in zip(video["images"], video["depth"], video["parsing"]):
            labels = labeller.labels(image, live=True)
            head, predicted = parsing > 0, labels.parsing > 0
            ious.append((head & predicted).sum() / (head | predicted).sum())
            correlations.append(np.corrcoef(labels.depth[head].astype(np.float32), depth[head].astype(np.float32))[0, 1])
            accuracies.append((labels.parsing[head] == parsing[head]).mean())
    # measured means over these frames: IoU 0.84-0.94, depth r 0.74-0.86, accuracy 0.85-0.91
    assert np.mean(ious) > 0.75
    assert np.mean(correlations) > 0.5
    assert np.mean(accuracies) > 0.7


def test_glare_estimate_follows_the_synthetic_glare():
    correlations = []
    for subject in range(4):
        for attack in range(len(DOMAINS["synth-oulu"].attacks)):
            video = shoot_video(Video(domain="synth-oulu", subject=subject, index=1 + attack, split="train",
                                      attack=attack, frames=1, size=128, seed=0))
            truth = video["reflection"][0].astype(np.float32).mean(2)
            if truth.max() > 0.01:
                correlations.append(np.corrcoef(truth.ravel(), specular_layer(video["images"][0])[..., 0].ravel())[0, 1])
    assert len(correlations) >= 5
    assert np.mean(correlations) > 0.4  # measured 0.70 over 8 frames (0.2-0.4 in the other domains)


def test_a_detail_crop_gives_the_mesh_of_a_small_crop(labeller):
    from PIL import Image

    from dgfas.data.synthetic.shoot import Video, shoot_video

    shot = shoot_video(Video(domain="synth-casia", subject=1, index=0, split="train", attack=-1, frames=1, size=192,
                             seed=0))
    detail = shot["images"][0]
    small = np.asarray(Image.fromarray(detail).resize((40, 40), Image.Resampling.BOX))
    labels = labeller.labels(small, live=True, detail=detail)
    assert labels.mesh_found and labels.parsing.shape == (40, 40)
    truth = np.asarray(Image.fromarray(shot["parsing"][0]).resize((40, 40), Image.Resampling.NEAREST)) > 0
    found = labels.parsing > 0
    assert (found & truth).sum() / (found | truth).sum() > 0.75
