"""The inner-step engines agree on the meta-gradient, keep the second-order term,
and follow the documented BatchNorm policy; the meta layers differentiate twice
exactly as the native ones do."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dgfas.algorithms.inner_step import INNER_STEPS, get_inner_step
from dgfas.algorithms.meta_layers import MetaBatchNorm2d, MetaConv2d, with_meta_layers

ENGINES = INNER_STEPS.names()
ALPHA, BETA = 0.1, 0.7


def test_every_documented_engine_is_registered():
    assert ENGINES == ["higher", "learn2learn", "torch_func"]


def _small_bn_net(meta_layers: bool = False) -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 5 * 5, 1)
    ).double()
    with torch.no_grad():  # non-trivial running statistics to start from
        net[1].running_mean.uniform_(-1, 1)
        net[1].running_var.uniform_(0.5, 2)
    return with_meta_layers(net) if meta_layers else net


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


@pytest.mark.parametrize("meta_layers", [False, True])
@pytest.mark.parametrize("first_order", [False, True])
@pytest.mark.parametrize("engine", ["higher", "learn2learn"])
def test_engines_give_the_same_meta_gradient_as_torch_func(engine, first_order, meta_layers):
    reference_net, other_net = _small_bn_net(meta_layers), _small_bn_net(meta_layers)
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


@pytest.mark.parametrize("meta_layers", [False, True])
@pytest.mark.parametrize("engine", ENGINES)
def test_running_statistics_come_from_the_meta_train_pass_only(engine, meta_layers):
    net = _small_bn_net(meta_layers)
    reference = _small_bn_net()  # native layers
    x_train, _, _, _ = _data()
    reference(x_train)  # one train-mode pass on the meta-train batch
    _meta_gradient(engine, net, first_order=False)
    bn, expected = net[1], reference[1]
    torch.testing.assert_close(bn.running_mean, expected.running_mean, atol=1e-12, rtol=0)
    torch.testing.assert_close(bn.running_var, expected.running_var, atol=1e-12, rtol=0)
    assert bn.num_batches_tracked.item() == 1


@pytest.mark.parametrize("meta_layers", [False, True])
@pytest.mark.parametrize("engine", ENGINES)
def test_meta_test_pass_normalizes_with_its_own_batch_statistics(engine, meta_layers):
    """A batch-statistics pass makes the meta-test loss independent of the running statistics."""
    losses = []
    for shift in (0.0, 5.0):
        net = _small_bn_net(meta_layers)
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


def _second_order_gradients(layer, x, inputs):
    """∂/∂inputs of a function of the first gradients of a loss of ``layer(x)``, one that weighs every gradient."""
    y = layer(x)
    grads = torch.autograd.grad(y.tanh().square().mean(), inputs, create_graph=True)
    return torch.autograd.grad(sum((g**3).sum() for g in grads), inputs)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize(
    "native",
    [
        nn.BatchNorm2d(4),
        nn.BatchNorm2d(4, momentum=None),
        nn.Conv2d(4, 5, 3, padding=1),
        nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False),
        nn.Conv2d(4, 6, 1, stride=2, groups=2),
    ],
    ids=["bn", "bn-cumulative", "conv", "conv-stride2", "conv-1x1-groups"],
)
@pytest.mark.parametrize("input_needs_grad", [True, False])
def test_meta_layers_differentiate_twice_exactly_as_native_ones(native, memory_format, input_needs_grad):
    torch.manual_seed(3)
    native = copy.deepcopy(native).double()
    with torch.no_grad():
        for p in native.parameters():
            p.uniform_(0.5, 1.5)
    meta = with_meta_layers(copy.deepcopy(native))
    assert type(meta) in (MetaBatchNorm2d, MetaConv2d)
    x = torch.randn(3, 4, 7, 7, dtype=torch.float64).contiguous(memory_format=memory_format)
    results = []
    for layer in (native, meta):
        inputs = [x.clone().requires_grad_(True)] if input_needs_grad else []
        inputs += list(layer.parameters())
        results.append(_second_order_gradients(layer, inputs[0] if input_needs_grad else x, inputs))
    for ours, theirs in zip(*results):
        torch.testing.assert_close(theirs, ours, atol=1e-12, rtol=1e-10)
    for ours, theirs in zip(native.buffers(), meta.buffers()):
        torch.testing.assert_close(theirs, ours, atol=1e-12, rtol=0)


def test_meta_layers_pass_numerical_second_derivative_checks():
    torch.manual_seed(4)
    net = with_meta_layers(nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.BatchNorm2d(3)).double())
    x = torch.randn(4, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    params = tuple(net.parameters())
    # The running statistics change with every call; they do not enter the output.
    assert torch.autograd.gradgradcheck(lambda x, *p: torch.func.functional_call(net, dict(zip(
        [n for n, _ in net.named_parameters()], p)), (x,)), (x, *params))


def test_meta_layers_keep_the_state_dict_and_refuse_a_third_derivative():
    native = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU())
    state = copy.deepcopy(native.state_dict())
    meta = with_meta_layers(native)
    assert [type(m) for m in meta] == [MetaConv2d, MetaBatchNorm2d, nn.ReLU]
    assert meta.state_dict().keys() == state.keys()
    for name, value in meta.state_dict().items():
        torch.testing.assert_close(value, state[name])
    x = torch.randn(2, 2, 5, 5, requires_grad=True)
    (grad,) = torch.autograd.grad(meta(x).pow(3).sum(), x, create_graph=True)
    torch.autograd.grad(grad.square().sum(), x)  # a second derivative
    with pytest.raises(RuntimeError, match="differentiate twice, not three times"):
        torch.autograd.grad(grad.square().sum(), x, create_graph=True)


def test_meta_layers_differentiate_twice_under_bf16_autocast():
    """As native layers do under autocast: bf16 arithmetic, float32 gradients, close to the float32 ones."""
    torch.manual_seed(5)
    # No bias before the batch norm: its gradient is zero, and both would compare rounding noise.
    native = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 3, stride=2))
    meta = with_meta_layers(copy.deepcopy(native))
    x = torch.randn(4, 3, 9, 9)
    results = []
    for layers in (native, meta):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            results.append(_second_order_gradients(layers, x, list(layers.parameters())))
    for ours, theirs, p in zip(*results, native.parameters()):
        assert theirs.dtype == p.dtype == torch.float32
        torch.testing.assert_close(theirs, ours, atol=0.05 * ours.abs().max().item(), rtol=0)
