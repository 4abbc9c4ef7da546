"""The inner-step engines agree on the meta-gradient, keep the second-order term,
and follow the documented BatchNorm policy."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dgfas.algorithms.inner_step import INNER_STEPS, get_inner_step

ENGINES = INNER_STEPS.names()
ALPHA, BETA = 0.1, 0.7


def test_every_documented_engine_is_registered():
    assert ENGINES == ["higher", "learn2learn", "torch_func"]


def _small_bn_net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 5 * 5, 1)
    ).double()
    with torch.no_grad():  # non-trivial running statistics to start from
        net[1].running_mean.uniform_(-1, 1)
        net[1].running_var.uniform_(0.5, 2)
    return net


def _data():
    generator = torch.Generator().manual_seed(1)
    x_train = torch.randn(6, 2, 5, 5, generator=generator, dtype=torch.float64)
    x_test = torch.randn(4, 2, 5, 5, generator=generator, dtype=torch.float64) * 2 + 1
    y_train = torch.randn(6, generator=generator, dtype=torch.float64)
    y_test = torch.randn(4, generator=generator, dtype=torch.float64)
    return x_train, y_train, x_test, y_test


def _meta_gradient(engine: str, net: nn.Module, first_order: bool):
    x_train, y_train, x_test, y_test = _data()

    def train_loss(forward):
        return F.mse_loss(forward(x_train).squeeze(1), y_train)

    def test_loss(forward):
        return F.mse_loss(forward(x_test).squeeze(1), y_test)

    net.zero_grad(set_to_none=True)
    l_train, l_test = get_inner_step(engine)(net, train_loss, test_loss, ALPHA, first_order)
    (l_train + BETA * l_test).backward()
    return [p.grad.clone() for p in net.parameters()], (l_train.item(), l_test.item())


@pytest.mark.parametrize("first_order", [False, True])
@pytest.mark.parametrize("engine", ["higher", "learn2learn"])
def test_engines_give_the_same_meta_gradient_as_torch_func(engine, first_order):
    reference_net, other_net = _small_bn_net(), _small_bn_net()
    reference, reference_losses = _meta_gradient("torch_func", reference_net, first_order)
    other, other_losses = _meta_gradient(engine, other_net, first_order)
    assert other_losses == pytest.approx(reference_losses, abs=1e-12)
    for ours, theirs in zip(reference, other):
        torch.testing.assert_close(theirs, ours, atol=1e-6, rtol=0)
    for ours, theirs in zip(reference_net.buffers(), other_net.buffers()):
        torch.testing.assert_close(theirs, ours, atol=1e-12, rtol=0)


def test_second_order_meta_gradient_differs_from_first_order():
    second, _ = _meta_gradient("torch_func", _small_bn_net(), first_order=False)
    first, _ = _meta_gradient("torch_func", _small_bn_net(), first_order=True)
    assert max((a - b).abs().max().item() for a, b in zip(second, first)) > 1e-3


@pytest.mark.parametrize("engine", ENGINES)
def test_closed_form_linear_meta_gradient(engine):
    """Linear model, squared loss: every term of the meta-gradient is known.

    L_tr(w) = ½|Xw − y|²/n has gradient A w − b with A = XᵀX/n, b = Xᵀy/n, so
    w' = w − α(Aw − b). L_te(w') = ½|Zw' − t|²/m has gradient g' = C w' − d at w'.
    The meta-gradient of L_tr(w) + β L_te(w'(w)) is (Aw − b) + β (I − αA) g';
    first-order MAML drops the −αA g' term.
    """
    generator = torch.Generator().manual_seed(2)
    X, Z = (torch.randn(n, 3, generator=generator, dtype=torch.float64) for n in (8, 5))
    y, t = torch.randn(8, generator=generator, dtype=torch.float64), torch.randn(5, generator=generator, dtype=torch.float64)
    w = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)
    A, b = X.T @ X / 8, X.T @ y / 8
    C, d = Z.T @ Z / 5, Z.T @ t / 5
    w_adapted = w - ALPHA * (A @ w - b)
    g_test = C @ w_adapted - d
    expected = {
        False: (A @ w - b) + BETA * (torch.eye(3, dtype=torch.float64) - ALPHA * A) @ g_test,
        True: (A @ w - b) + BETA * g_test,
    }
    assert (expected[False] - expected[True]).abs().max() > 1e-3  # the term under test is not negligible

    for first_order in (False, True):
        model = nn.Linear(3, 1, bias=False).double()
        with torch.no_grad():
            model.weight.copy_(w[None])
        l_train, l_test = get_inner_step(engine)(
            model,
            lambda forward: 0.5 * (forward(X).squeeze(1) - y).pow(2).mean(),
            lambda forward: 0.5 * (forward(Z).squeeze(1) - t).pow(2).mean(),
            ALPHA,
            first_order,
        )
        (l_train + BETA * l_test).backward()
        torch.testing.assert_close(model.weight.grad[0], expected[first_order], atol=1e-12, rtol=0)


@pytest.mark.parametrize("engine", ENGINES)
def test_running_statistics_come_from_the_meta_train_pass_only(engine):
    net = _small_bn_net()
    reference = copy.deepcopy(net)
    x_train, _, _, _ = _data()
    reference(x_train)  # one train-mode pass on the meta-train batch
    _meta_gradient(engine, net, first_order=False)
    bn, expected = net[1], reference[1]
    torch.testing.assert_close(bn.running_mean, expected.running_mean, atol=1e-12, rtol=0)
    torch.testing.assert_close(bn.running_var, expected.running_var, atol=1e-12, rtol=0)
    assert bn.num_batches_tracked.item() == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_meta_test_pass_normalizes_with_its_own_batch_statistics(engine):
    """A batch-statistics pass makes the meta-test loss independent of the running statistics."""
    losses = []
    for shift in (0.0, 5.0):
        net = _small_bn_net()
        with torch.no_grad():
            net[1].running_mean.add_(shift)
        losses.append(_meta_gradient(engine, net, first_order=False)[1])
    assert losses[0] == pytest.approx(losses[1], abs=1e-12)


def test_a_missing_optional_engine_is_a_one_line_error(monkeypatch):
    import sys

    from dgfas.errors import DgfasError

    monkeypatch.setitem(sys.modules, "higher", None)  # makes `import higher` raise ImportError
    with pytest.raises(DgfasError, match="inner-step engine needs 'higher', which is not installed; `make setup`"):
        _meta_gradient("higher", _small_bn_net(), first_order=False)
