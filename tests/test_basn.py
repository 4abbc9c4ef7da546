"""basn and its vgg16 backbone: shapes per variant, HSV, losses, ablation switches, weights files."""

import colorsys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dgfas.algorithms import Batch, get_algorithm
from dgfas.algorithms.basn import (
    AUXILIARY,
    WholeMapConv,
    map_loss_weight,
    mean_squared_l1,
    rgb_to_hsv,
    to_rgb_hsv,
)
from dgfas.config import with_overrides
from dgfas.data.batches import make_batch, to_input
from dgfas.errors import DgfasError
from dgfas.models import get_model
from dgfas.models.vgg import VggConfig

DOMAINS = ["a", "b"]
EXTRACTORS = {
    "none": set(),
    "depth": {"depth"},
    "reflection": {"reflection"},
    "added": {"depth", "reflection"},
    "subtracted": {"depth", "reflection"},
}


def _algorithm(width: float = 0.125, **overrides):
    cls = get_algorithm("basn")
    torch.manual_seed(0)
    return cls(with_overrides(cls.Config(), overrides), VggConfig(width=width), DOMAINS)


def _batches(frames_factory, size: int = 32) -> dict[str, Batch]:
    return {
        domain: make_batch(frames_factory(domain, "train", seed=i, size=size), np.arange(8), ("depth", "reflection"),
                           torch.device("cpu"), flip=None)
        for i, domain in enumerate(DOMAINS)
    }


def test_every_paper_variant_is_listed():
    assert set(AUXILIARY) == set(EXTRACTORS)


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("auxiliary", AUXILIARY)
def test_output_and_feature_shapes(auxiliary, size):
    algorithm = _algorithm(auxiliary=auxiliary)
    c1, _, c3, _, _ = algorithm.net.backbone.stage_channels
    out = algorithm.net(torch.randn(3, 3, size, size))
    expected = {"logits": (3, 2), "features": (3, c3, size // 16, size // 16)}
    if "depth" in EXTRACTORS[auxiliary]:
        expected["depth"] = (3, 1, size // 4, size // 4)
    if "reflection" in EXTRACTORS[auxiliary]:
        expected["reflection"] = (3, 3, size // 4, size // 4)
    assert {k: tuple(v.shape) for k, v in out.items()} == expected
    scores = algorithm.predict(torch.randn(3, 3, size, size))
    assert scores.shape == (3,) and torch.all((scores >= 0) & (scores <= 1))


def test_hsv_matches_colorsys():
    pixels = [
        (0.0, 0.0, 0.0),  # black
        (0.5, 0.5, 0.5),  # gray
        (1.0, 0.0, 0.2),  # red brightest, g < b: hue wraps below 360°
        (0.2, 0.9, 0.1),
        (0.3, 0.1, 0.8),
        (1.0, 1.0, 0.0),  # tie between red and green
        (0.0, 0.7, 0.7),  # tie between green and blue
        *np.random.default_rng(0).random((20, 3)).tolist(),
    ]
    rgb = torch.tensor(pixels, dtype=torch.float64).T.reshape(1, 3, len(pixels), 1)
    ours = rgb_to_hsv(rgb).reshape(3, len(pixels)).T
    reference = torch.tensor([colorsys.rgb_to_hsv(*p) for p in pixels], dtype=torch.float64)
    torch.testing.assert_close(ours, reference, atol=1e-9, rtol=0)


def test_six_channel_input_undoes_the_trainers_normalization():
    images = np.random.default_rng(0).integers(0, 256, size=(2, 8, 8, 3), dtype=np.uint8)
    six = to_rgb_hsv(to_input(images, torch.device("cpu")))
    rgb = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    assert six.shape == (2, 6, 8, 8)
    torch.testing.assert_close(six[:, :3], rgb, atol=1e-5, rtol=0)
    torch.testing.assert_close(six[:, 3:], rgb_to_hsv(rgb), atol=1e-4, rtol=0)


@pytest.mark.parametrize("auxiliary", AUXILIARY)
def test_one_step_updates_every_part_it_builds_and_stays_finite(auxiliary, frames_factory):
    algorithm = _algorithm(auxiliary=auxiliary)
    before = {k: v.clone() for k, v in algorithm.state_dict().items()}
    losses = algorithm.update(_batches(frames_factory))
    assert set(losses) == {"loss", "cls", *EXTRACTORS[auxiliary]}
    assert all(np.isfinite(v) for v in losses.values())
    # 32² input: 8x8 maps, so the paper's λ2 = λ3 = 5e-5 for 64x64 maps become 5e-5 · (4096 / 64)² = 0.2048.
    weights = {"cls": 10.0, "depth": 0.2048, "reflection": 0.2048}
    assert losses["loss"] == pytest.approx(sum(weights[k] * v for k, v in losses.items() if k != "loss"), rel=1e-5)
    after = algorithm.state_dict()
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point())
    parts = ["input_conv", "backbone", "backbone_conv", "classifier"]
    parts += [f"{name}_extractor" for name in EXTRACTORS[auxiliary]] + (["enrichment"] if auxiliary != "none" else [])
    for part in parts:
        changed = [k for k, v in after.items() if k.startswith(f"net.{part}.") and not torch.equal(v, before[k])]
        assert changed, f"update() changed no weight of {part}"


@pytest.mark.parametrize("auxiliary", AUXILIARY)
def test_a_switched_off_extractor_is_not_built(auxiliary):
    names = {name.split(".")[1] for name, _ in _algorithm(auxiliary=auxiliary).named_parameters()}
    built = {part for part in ("depth_extractor", "reflection_extractor", "enrichment") if part in names}
    expected = {f"{name}_extractor" for name in EXTRACTORS[auxiliary]}
    if auxiliary != "none":
        expected.add("enrichment")
    assert built == expected


def test_map_losses_are_zero_at_the_ground_truth_and_squared_l1_otherwise(frames_factory):
    algorithm = _algorithm()
    batch = _batches(frames_factory)["a"]
    out = algorithm.net(batch.image)
    exact = dict(out)
    exact["depth"] = F.adaptive_avg_pool2d(batch.depth, out["depth"].shape[-2:])
    exact["reflection"] = F.adaptive_avg_pool2d(batch.reflection, out["reflection"].shape[-2:])
    losses = algorithm.task_losses(exact, batch)
    assert losses["depth"].item() == 0 and losses["reflection"].item() == 0
    # One image of the 8 off by 0.5 on every cell of an 8x8 map: (64 · 0.5)² = 1024, the others add nothing; / N.
    assert len(batch.label) == 8
    exact["depth"] = exact["depth"].clone()
    exact["depth"][0] += 0.5
    assert algorithm.task_losses(exact, batch)["depth"].item() == pytest.approx(1024.0 / 8)


def test_mean_squared_l1_squares_each_images_sum_then_averages_the_batch():
    prediction = torch.zeros(2, 3, 2, 2)
    target = torch.stack([torch.full((3, 2, 2), 0.5), torch.full((3, 2, 2), -1.0)])
    assert mean_squared_l1(prediction, target).item() == pytest.approx(((12 * 0.5) ** 2 + (12 * 1.0) ** 2) / 2)


def test_map_weights_are_the_papers_at_64x64_and_keep_its_balance_at_other_sizes():
    assert map_loss_weight(5e-5, (64, 64)) == pytest.approx(5e-5)
    assert map_loss_weight(5e-5, (16, 16)) == pytest.approx(5e-5 * 16**2)  # 64² input: 16 times fewer pixels
    # A per-pixel error e weighs the same, λ · (4096 · e)², at every map size.
    for side in (4, 16, 64):
        weighted_error = map_loss_weight(5e-5, (side, side)) * (side * side * 0.1) ** 2
        assert weighted_error == pytest.approx(5e-5 * (4096 * 0.1) ** 2)


def test_loss_is_the_papers_formula_on_a_hand_computed_batch():
    """L = λ1 CE + λ2 (1/N) Σ‖D̂ − D‖₁² + λ3 (1/N) Σ‖R̂ − R‖₁², λ2 and λ3 for 2x2 maps: 5e-5 · (4096 / 4)²."""
    algorithm = _algorithm()
    out = {"logits": torch.zeros(2, 2), "depth": torch.zeros(2, 1, 2, 2), "reflection": torch.zeros(2, 3, 2, 2)}
    batch = Batch(
        image=torch.zeros(2, 3, 8, 8),
        label=torch.tensor([1.0, 0.0]),
        depth=torch.stack([torch.full((1, 2, 2), 0.5), torch.zeros(1, 2, 2)]),  # ‖·‖₁ = 2 and 0
        reflection=torch.stack([torch.zeros(3, 2, 2), torch.full((3, 2, 2), 0.25)]),  # ‖·‖₁ = 0 and 3
    )
    losses = algorithm.task_losses(out, batch)
    assert losses["cls"].item() == pytest.approx(np.log(2))  # equal logits
    assert losses["depth"].item() == pytest.approx((2.0**2 + 0.0) / 2)
    assert losses["reflection"].item() == pytest.approx((0.0 + 3.0**2) / 2)
    map_weight = 5e-5 * (4096 / 4) ** 2  # 52.4288
    expected = 10 * np.log(2) + map_weight * 2.0 + map_weight * 4.5
    assert algorithm.weighted(losses, out).item() == pytest.approx(expected, rel=1e-6)


def test_enrichment_adds_the_difference_of_the_extractor_features():
    """With the two extractors' feature layers equal, BASN's difference vanishes and the sum does not."""
    for auxiliary, vanishes in (("subtracted", True), ("added", False)):
        algorithm = _algorithm(auxiliary=auxiliary)
        net = algorithm.net
        net.reflection_extractor.features.load_state_dict(net.depth_extractor.features.state_dict())
        captured = {}
        net.backbone_conv.register_forward_hook(lambda module, args, output: captured.update(backbone=output))
        out = net(torch.randn(4, 3, 32, 32))
        assert torch.allclose(out["features"], captured["backbone"]) == vanishes, auxiliary


def test_score_is_the_softmax_probability_of_class_1():
    algorithm = _algorithm()
    last = algorithm.net.classifier[-1].conv
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([0.0, 2.0]))
    torch.testing.assert_close(algorithm.predict(torch.randn(3, 3, 32, 32)), torch.full((3,), 1 / (1 + np.exp(-2.0))))


def test_last_layer_covers_the_whole_map_at_every_input_size():
    torch.manual_seed(0)
    layer = WholeMapConv(4, 2)
    eight = torch.randn(3, 4, 8, 8)
    torch.testing.assert_close(layer(eight), F.conv2d(eight, layer.conv.weight, layer.conv.bias).flatten(1))
    # A 2x2 map (64² input): the 8x8 kernel acts as a 2x2 kernel of its 4x4 block sums.
    two = torch.randn(3, 4, 2, 2)
    block_sums = F.avg_pool2d(layer.conv.weight, 4) * 16
    torch.testing.assert_close(layer(two), F.conv2d(two, block_sums, layer.conv.bias).flatten(1))


def test_unknown_variant_and_backbone_without_five_stages_are_one_line_errors():
    cls = get_algorithm("basn")
    valid = r"\['none', 'depth', 'reflection', 'added', 'subtracted'\]"
    with pytest.raises(DgfasError, match=rf"auxiliary must be one of {valid}, got 'both'"):
        _algorithm(auxiliary="both")  # refused as the config is resolved, before any data is loaded
    with pytest.raises(DgfasError, match="five stages"):
        cls(cls.Config(model="resnet18"), get_model("resnet18").config(width=0.125), DOMAINS)


def test_vgg16_at_full_width_is_torchvision_vgg16():
    import torchvision

    with torch.device("meta"):  # shapes only: no memory for the 138M parameters
        ours = get_model("vgg16").build(VggConfig())
        theirs = torchvision.models.vgg16().state_dict()
    theirs = {k: tuple(v.shape) for k, v in theirs.items() if not k.startswith("classifier.")}
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == theirs
    assert ours.stage_channels == (64, 128, 256, 512, 512)


def test_vgg16_stages_are_the_five_blocks_before_pooling():
    model = get_model("vgg16").build(VggConfig(width=0.25))
    x = torch.randn(2, 3, 32, 32)
    stages = model.stages(x)
    assert [tuple(s.shape) for s in stages] == [(2, c, 32 >> i, 32 >> i) for i, c in enumerate(model.stage_channels)]
    torch.testing.assert_close(model.features[:4](x), stages[0])
    torch.testing.assert_close(model(x), F.max_pool2d(stages[-1], 2).mean((2, 3)))


def test_vgg16_weights_file_loads_and_a_bad_file_is_a_one_line_error(tmp_path):
    import torchvision

    reference = torchvision.models.vgg16()
    # The convolutions and one classifier tensor: the loader must drop the classifier, and the
    # 500 MB of fully connected weights would only slow the test down.
    state = {k: v for k, v in reference.state_dict().items() if k.startswith("features.") or k == "classifier.6.bias"}
    path = tmp_path / "vgg16.pth"
    torch.save(state, path)
    model = get_model("vgg16").build(VggConfig(weights=str(path)))
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key

    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    resnet = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), resnet)
    cases = [
        (VggConfig(weights=str(tmp_path / "missing.pth")), "weights file not found"),
        (VggConfig(weights=str(garbage)), "cannot read weights"),
        (VggConfig(width=0.5, weights=str(path)), "not a vgg16 state dict of this width"),
        (VggConfig(weights=str(resnet)), "not a vgg16 state dict of this width"),
    ]
    for config, message in cases:
        with pytest.raises(DgfasError, match=message) as error:
            get_model("vgg16").build(config)
        assert "\n" not in str(error.value)
