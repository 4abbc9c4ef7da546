"""One MAML-style inner step (adapt on meta-train, evaluate on meta-test), by engine.

Every engine computes the same two losses,

    L_tr = meta_train_loss(f_θ),    θ' = θ − α ∇θ L_tr,    L_te = meta_test_loss(f_θ'),

and returns them with their autograd graphs, so ``(L_tr + β L_te).backward()``
puts the meta-gradient on θ's ``.grad``. With ``first_order`` the gradient in θ'
is a constant, and ∂θ'/∂θ is the identity (first-order MAML); otherwise it is
differentiated through (the Hessian-vector term of second-order MAML).

The default engine is ``torch.func.functional_call`` with ``torch.autograd.grad``,
a few lines and no patched modules. ``higher`` and ``learn2learn`` are offered so
that a researcher whose code uses either can check it against ours; a test shows
all three give the same meta-gradient.

BatchNorm policy, the same in every engine: each forward pass normalizes with its
own batch statistics (train mode), so meta-train and meta-test batches are never
normalized with each other's statistics. The running statistics (used at test
time) are updated by the meta-train forward pass of θ only; the meta-test pass
through θ' leaves them exactly as they were, so the evaluation-time statistics
never come from adapted weights that are thrown away after the step. Every source
domain still reaches them, because each domain is meta-train in most iterations.

The second-order term's cost is that of the model's layers, not of the engine:
:mod:`dgfas.algorithms.meta_layers` makes it cheap, in every engine alike.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from dgfas.errors import DgfasError
from dgfas.registry import Registry

#: A loss of the model's outputs; it receives the forward function to call (the
#: module itself, or the module run with adapted weights).
LossOfForward = Callable[[Callable[..., Any]], torch.Tensor]
InnerStep = Callable[[nn.Module, LossOfForward, LossOfForward, float, bool], tuple[torch.Tensor, torch.Tensor]]

INNER_STEPS: Registry[InnerStep] = Registry("inner-step engine")
get_inner_step = INNER_STEPS.get


def _optional_module(name: str) -> Any:
    """Import an optional engine's module, or say in one line how to get it."""
    try:
        with warnings.catch_warnings():
            # learn2learn imports gym, which warns that it is unmaintained.
            warnings.simplefilter("ignore")
            return importlib.import_module(name)
    except ImportError:
        raise DgfasError(
            f"inner-step engine needs '{name.split('.')[0]}', which is not installed; `make setup` installs it (see README)"
        ) from None


def _own_buffers(module: nn.Module) -> None:
    """Give every submodule private copies of its buffers.

    The meta-test pass must not touch the running statistics, and restoring
    them afterwards would not do: BatchNorm's backward checks that the running
    statistics it saved are unchanged. Only call this on a module whose
    submodules are already copies (a learn2learn clone).
    """
    for sub in module.modules():
        sub._buffers = {k: None if v is None else v.clone() for k, v in sub._buffers.items()}


def _adapted(params: list[torch.Tensor], grads: tuple[torch.Tensor | None, ...], alpha: float) -> list[torch.Tensor]:
    """θ' = θ − α g in one foreach operation (one autograd node, not one per parameter).

    A parameter the meta-train loss does not reach keeps its value.
    """
    reached = [i for i, g in enumerate(grads) if g is not None]
    stepped = torch._foreach_add([params[i] for i in reached], [grads[i] for i in reached], alpha=-alpha)
    adapted = list(params)
    for i, value in zip(reached, stepped):
        adapted[i] = value
    return adapted


@INNER_STEPS.register("torch_func")
def torch_func_inner_step(
    model: nn.Module, meta_train_loss: LossOfForward, meta_test_loss: LossOfForward, alpha: float, first_order: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """θ' as a dict of tensors (one foreach step), the model run on it with ``functional_call``."""
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    params = [p for p in model.parameters() if p.requires_grad]
    train_loss = meta_train_loss(model)
    grads = torch.autograd.grad(train_loss, params, create_graph=not first_order, retain_graph=True, allow_unused=True)
    # Copies of the buffers, so the meta-test pass updates those and not the model's.
    adapted = {**dict(zip(names, _adapted(params, grads, alpha))), **{n: b.clone() for n, b in model.named_buffers()}}
    test_loss = meta_test_loss(lambda *args, **kwargs: functional_call(model, adapted, args, kwargs))
    return train_loss, test_loss


@INNER_STEPS.register("higher")
def higher_inner_step(
    model: nn.Module, meta_train_loss: LossOfForward, meta_test_loss: LossOfForward, alpha: float, first_order: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """``higher.innerloop_ctx`` with a differentiable SGD step of size α.

    higher's patched model holds copies of the buffers, so the running
    statistics its meta-train pass updated are copied back to ``model`` (its
    meta-test pass then updates only the copies). Its
    own first-order mode (``track_higher_grads=False``) would cut θ' off from θ
    entirely; first-order MAML is instead a ``grad_callback`` that detaches the
    gradient, which keeps ∂θ'/∂θ = I.
    """
    higher = _optional_module("higher")
    sgd = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=alpha)
    with higher.innerloop_ctx(model, sgd, copy_initial_weights=False) as (fmodel, diffopt):
        train_loss = meta_train_loss(fmodel)
        with torch.no_grad():
            for ours, theirs in zip(model.buffers(), fmodel.buffers()):
                ours.copy_(theirs)
        detach = (lambda grads: [None if g is None else g.detach() for g in grads]) if first_order else None
        diffopt.step(train_loss, grad_callback=detach)
        test_loss = meta_test_loss(fmodel)
    return train_loss, test_loss


@INNER_STEPS.register("learn2learn")
def learn2learn_inner_step(
    model: nn.Module, meta_train_loss: LossOfForward, meta_test_loss: LossOfForward, alpha: float, first_order: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """learn2learn's ``clone_module`` and ``maml_update``, as ``MAML.adapt`` uses them.

    ``MAML.adapt`` itself frees the meta-train graph in first-order mode, and
    the outer objective still needs L_tr, so the gradient is taken here and
    handed to ``maml_update``. The clone shares ``model``'s buffers.
    """
    maml_update = _optional_module("learn2learn.algorithms.maml").maml_update
    learner = _optional_module("learn2learn.utils").clone_module(model)
    train_loss = meta_train_loss(learner)
    params = list(learner.parameters())
    grads = torch.autograd.grad(train_loss, params, create_graph=not first_order, retain_graph=True, allow_unused=True)
    maml_update(learner, alpha, [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)])
    _own_buffers(learner)
    test_loss = meta_test_loss(learner)
    return train_loss, test_loss
