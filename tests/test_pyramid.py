"""Pyramid supervision and the CDCN backbone: CDC arithmetic, map shapes, pyramid targets and losses, updates."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dgfas.algorithms import Batch, get_algorithm
from dgfas.algorithms.pyramid import contrastive_depth_loss, pyramid, pyramid_losses, pyramid_sizes, target_map
from dgfas.config import with_overrides
from dgfas.data.batches import make_batch
from dgfas.errors import DgfasError
from dgfas.models import get_model
from dgfas.models.cdcn import CdcnConfig, CentralDifferenceConv2d

MODELS = ["resnet18", "cdcn"]


def _algorithm(model: str = "resnet18", width: float = 0.125, **overrides):
    cls = get_algorithm("pyramid")
    config = with_overrides(cls.Config(), {"model": model, **overrides})
    model_config = with_overrides(get_model(model).config(), {"width": width})
    torch.manual_seed(0)
    return cls(config, model_config, ["a", "b"])


def _batches(frames_factory) -> dict[str, Batch]:
    return {
        domain: make_batch(frames_factory(domain, "train", seed=i), np.arange(8), ("depth", "parsing"), torch.device("cpu"), None)
        for i, domain in enumerate(["a", "b"])
    }


# --- central difference convolution ----------------------------------------------------------


@pytest.mark.parametrize("stride", [1, 2])
def test_cdc_with_theta_zero_is_exactly_nn_conv2d(stride):
    torch.manual_seed(0)
    cdc = CentralDifferenceConv2d(4, 5, 3, stride=stride, padding=1, bias=True, theta=0.0)
    conv = nn.Conv2d(4, 5, 3, stride=stride, padding=1, bias=True)
    conv.load_state_dict(cdc.state_dict())
    x = torch.randn(2, 4, 9, 9)
    assert torch.equal(cdc(x), conv(x))


def test_cdc_with_theta_one_is_the_hand_computed_central_difference():
    torch.manual_seed(0)
    cdc = CentralDifferenceConv2d(2, 3, 3, padding=1, bias=True, theta=1.0).double()
    x = torch.randn(1, 2, 4, 5, dtype=torch.float64)
    w, b = cdc.weight.detach(), cdc.bias.detach()
    padded = F.pad(x, (1, 1, 1, 1))  # zero padding, as the convolution's
    expected = torch.zeros(1, 3, 4, 5, dtype=torch.float64)
    for o in range(3):
        for i in range(4):
            for j in range(5):
                # Σ_n w(p_n) · (x(p0 + p_n) − x(p0)) + b
                window = padded[0, :, i : i + 3, j : j + 3]
                centre = x[0, :, i, j].view(2, 1, 1)
                expected[0, o, i, j] = (w[o] * (window - centre)).sum() + b[o]
    torch.testing.assert_close(cdc(x), expected, atol=1e-12, rtol=0)


def test_cdc_on_a_tiny_input_with_a_box_kernel():
    # A box kernel with θ = 1 gives Σ neighbours − 9·centre: 0 on a linear ramp's interior.
    cdc = CentralDifferenceConv2d(1, 1, 3, padding=1, bias=False, theta=1.0)
    with torch.no_grad():
        cdc.weight.fill_(1.0)
    x = torch.arange(9.0).view(1, 1, 3, 3)  # [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    out = cdc(x)[0, 0]
    assert out[1, 1] == 0.0  # 36 − 9·4
    assert out[0, 0] == 8.0  # (0 + 1 + 3 + 4) − 9·0, the rest is zero padding
    assert out[2, 2] == 24.0 - 72.0  # (4 + 5 + 7 + 8) − 9·8


@pytest.mark.parametrize("stride", [1, 2])
def test_cdc_is_the_papers_vanilla_minus_theta_one_by_one_formula(stride):
    torch.manual_seed(0)
    theta = 0.7
    cdc = CentralDifferenceConv2d(3, 4, 3, stride=stride, padding=1, bias=False, theta=theta)
    x = torch.randn(2, 3, 8, 8)
    vanilla = F.conv2d(x, cdc.weight, stride=stride, padding=1)
    one_by_one = F.conv2d(x, cdc.weight.sum(dim=(2, 3), keepdim=True), stride=stride)
    torch.testing.assert_close(cdc(x), vanilla - theta * one_by_one, atol=1e-5, rtol=1e-5)


# --- CDCN backbone -------------------------------------------------------------------------


def test_cdcn_theta_reaches_every_convolution_and_width_scales_channels():
    model = get_model("cdcn").build(CdcnConfig(width=0.25, theta=0.5))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(isinstance(m, CentralDifferenceConv2d) and m.theta == 0.5 for m in convs)
    assert model.stage_channels == (32, 32, 32)  # 128 · 0.25
    stages = model.stages(torch.randn(2, 3, 32, 32))
    assert [tuple(s.shape[1:]) for s in stages] == [(32, 16, 16), (32, 8, 8), (32, 4, 4)]  # strides 2, 4, 8
    narrow = get_model("cdcn").build(CdcnConfig(width=0.01))
    assert narrow.stage_channels == (8, 8, 8)  # at least 8 channels
    params = {w: sum(p.numel() for p in get_model("cdcn").build(CdcnConfig(width=w)).parameters()) for w in (0.25, 0.5)}
    assert params[0.25] < params[0.5] / 3


@pytest.mark.parametrize("theta", ["1.5", "-0.1"])
def test_theta_outside_the_unit_interval_is_a_one_line_error(theta):
    with pytest.raises(DgfasError, match=r"theta must be a finite number in \[0, 1\]") as error:
        with_overrides(CdcnConfig(), {"theta": theta})
    assert "\n" not in str(error.value)


# --- the pyramid ---------------------------------------------------------------------------


def test_pyramid_sizes_follow_the_paper_and_drop_repeats():
    assert pyramid_sizes((32, 32), 6) == [(32, 32), (16, 16), (8, 8), (4, 4), (2, 2), (1, 1)]  # 256² input
    assert pyramid_sizes((8, 8), 6) == [(8, 8), (4, 4), (2, 2), (1, 1)]  # quick preset's 64²
    assert pyramid_sizes((4, 4), 6) == [(4, 4), (2, 2), (1, 1)]  # 32²
    assert pyramid_sizes((5, 5), 6) == [(5, 5), (2, 2), (1, 1)]
    assert pyramid_sizes((8, 8), 1) == [(8, 8)]


def test_pooled_targets_of_a_hand_made_mask():
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :2] = 1.0  # the top-left quadrant
    mask[..., 3, 3] = 1.0  # one pixel of the bottom-right quadrant
    levels = pyramid(mask, 6)
    assert list(levels) == [(4, 4), (2, 2), (1, 1)]
    assert torch.equal(levels[(4, 4)], mask)
    assert torch.equal(levels[(2, 2)], torch.tensor([[[[1.0, 0.0], [0.0, 0.25]]]]))
    assert torch.equal(levels[(1, 1)], torch.tensor([[[[5 / 16]]]]))


def test_pyramid_loss_is_zero_for_a_perfect_map_and_positive_at_every_level_otherwise():
    torch.manual_seed(0)
    target = torch.rand(3, 1, 8, 8)
    assert all(loss == 0 for loss in pyramid_losses(target.clone(), target, 6).values())
    wrong = target.clone()
    wrong[0, 0, 2, 5] += 0.5
    losses = pyramid_losses(wrong, target, 6)
    assert list(losses) == [(8, 8), (4, 4), (2, 2), (1, 1)]
    assert all(loss > 0 for loss in losses.values())
    # One pixel off by 0.5: the 1×1 level's mean is off by 0.5/64, in 1 of 3 images.
    torch.testing.assert_close(losses[(1, 1)], torch.tensor((0.5 / 64) ** 2 / 3))


def test_contrastive_depth_loss_sees_local_differences_only():
    torch.manual_seed(0)
    target = torch.rand(2, 1, 6, 6)
    # A constant offset has the same contrasts (up to rounding); the pyramid MSE would see it.
    assert contrastive_depth_loss(target + 0.3, target) < 1e-12
    bumped = target.clone()
    bumped[0, 0, 3, 3] += 1.0
    assert contrastive_depth_loss(bumped, target) > 1e-3


def test_update_with_the_contrastive_term_logs_it(frames_factory):
    losses = _algorithm(contrastive_weight=1.0).update(_batches(frames_factory))
    assert losses["contrastive"] >= 0
    torch.testing.assert_close(losses["loss"], sum(v for k, v in losses.items() if k != "loss"), rtol=1e-5, atol=1e-6)


# --- targets ------------------------------------------------------------------------------


def test_mask_target_is_the_face_region_of_lives_and_zero_for_spoofs():
    parsing = torch.zeros(2, 4, 4, dtype=torch.int64)
    parsing[:, 1:3, 1:3] = 1  # skin
    parsing[:, 0, 0] = 6  # hair counts as face region
    batch = Batch(image=torch.zeros(2, 3, 4, 4), label=torch.tensor([1.0, 0.0]), parsing=parsing)
    mask = target_map(batch, "mask")
    expected_live = torch.zeros(4, 4)
    expected_live[1:3, 1:3] = 1.0
    expected_live[0, 0] = 1.0
    assert mask.shape == (2, 1, 4, 4)
    assert torch.equal(mask[0, 0], expected_live)
    assert torch.equal(mask[1], torch.zeros(1, 4, 4))


def test_depth_target_is_zero_for_spoofs_even_if_their_depth_is_not():
    depth = torch.full((2, 1, 4, 4), 0.5)
    batch = Batch(image=torch.zeros(2, 3, 4, 4), label=torch.tensor([1.0, 0.0]), depth=depth)
    target = target_map(batch, "depth")
    assert torch.equal(target[0], depth[0]) and torch.equal(target[1], torch.zeros(1, 4, 4))


# --- the algorithm ------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("size", [32, 64])
def test_map_is_at_stride_8_and_scores_are_probabilities(model, size):
    algorithm = _algorithm(model)
    x = torch.randn(2, 3, size, size)
    assert algorithm.net(x).shape == (2, 1, size // 8, size // 8)
    scores = algorithm.predict(x)
    assert scores.shape == (2,) and torch.all((scores >= 0) & (scores <= 1))


def test_cdcn_uses_its_own_cdc_map_head_and_resnet_the_depth_head():
    from dgfas.models.cdcn import CdcnMapHead
    from dgfas.models.heads import DepthHead

    assert isinstance(_algorithm("cdcn").net.head, CdcnMapHead)
    assert isinstance(_algorithm("resnet18").net.head, DepthHead)


class _FixedMap(nn.Module):
    def __init__(self, values: list[list[float]]) -> None:
        super().__init__()
        self.register_buffer("values", torch.tensor(values).view(1, 1, 2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.values.expand(x.shape[0], 1, 2, 2)


def test_score_is_the_mean_of_the_map_clamped_pixel_wise():
    algorithm = _algorithm()
    algorithm.net = _FixedMap([[-1.0, 0.5], [0.5, 2.0]])
    # Clamped first: (0 + 0.5 + 0.5 + 1) / 4; the unclamped mean would be 0.5.
    torch.testing.assert_close(algorithm.predict(torch.zeros(3, 3, 16, 16)), torch.full((3,), 0.5))
    algorithm.net = _FixedMap([[-1.0, 0.5], [0.5, 0.5]])
    # Clamped first: 1.5 / 4; the mean clamped afterwards would be 0.125.
    torch.testing.assert_close(algorithm.predict(torch.zeros(3, 3, 16, 16)), torch.full((3,), 0.375))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("target", ["depth", "mask"])
def test_one_update_changes_backbone_and_head_weights(model, target, frames_factory):
    algorithm = _algorithm(model, target=target)
    # Parameters, not the state dict: BatchNorm's running statistics change in any training-mode forward.
    before = {k: v.detach().clone() for k, v in algorithm.net.named_parameters()}
    losses = algorithm.update(_batches(frames_factory))
    # 32² frames: a 4×4 map, pyramid levels 4, 2, 1.
    assert set(losses) == {"loss", "mse_4x4", "mse_2x2", "mse_1x1"}
    assert all(np.isfinite(v) and v > 0 for v in losses.values())
    torch.testing.assert_close(losses["loss"], sum(v for k, v in losses.items() if k != "loss"), rtol=1e-5, atol=1e-6)
    changed = {k.split(".")[0] for k, v in algorithm.net.named_parameters() if not torch.equal(v, before[k])}
    assert changed == {"backbone", "head"}


def test_the_target_decides_the_loss(frames_factory):
    batches = _batches(frames_factory)
    depth = _algorithm(target="depth").update(batches)
    mask = _algorithm(target="mask").update(batches)
    # Same seed, same initial weights and images: only the supervision differs.
    assert depth["mse_1x1"] != pytest.approx(mask["mse_1x1"])


def test_bad_target_and_levels_are_one_line_errors():
    with pytest.raises(DgfasError, match=r"target must be one of \['depth', 'mask'\], got 'depht'") as error:
        _algorithm(target="depht")
    assert "\n" not in str(error.value)
    with pytest.raises(DgfasError, match="levels must be an integer >= 1, got 0"):
        _algorithm(levels=0)
