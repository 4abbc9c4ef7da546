"""Convolution and batch-norm layers whose second derivatives are cheap: the cost of a second-order meta step.

Differentiating through an inner step's adapted weights θ' runs the backward
of the meta-train backward pass (a Hessian-vector product;
:mod:`dgfas.algorithms.inner_step`). ATen's generic double backward of batch
norm is about thirty reductions and forty multiplications per layer (a quarter
of a meta step on the CPU), and that of a convolution takes input gradients
through the CPU's slow transposed-convolution path, even the gradient for the
image under the first layer, which nothing needs. :func:`with_meta_layers`
swaps a model's ``nn.Conv2d`` and ``nn.BatchNorm2d`` for :class:`MetaConv2d`
and :class:`MetaBatchNorm2d`: the same parameters, buffers, forward and
first-order gradients (ATen's own kernels, bit for bit), with hand-written
second derivatives made of fused native kernels and computed only where
needed. They change the cost, not the quantity: the inner step's BatchNorm
policy, and so the meta-gradient, are exactly those of the native layers
(tests compare both in float64 to rounding), in every engine and in
first-order mode. Their limit is two derivatives; asking for a third (a second
backward with ``create_graph``) is an error, never a wrong answer.

They live apart from the inner-step engines because they are layers, not a
step: a model is built with them once, and every engine then runs it unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _refuse_a_third_derivative() -> None:
    # A second backward that builds a graph (create_graph=True) asks for a third
    # derivative, which these hand-written second derivatives do not provide.
    if torch.is_grad_enabled():
        raise RuntimeError("MetaConv2d and MetaBatchNorm2d differentiate twice, not three times (create_graph in a second backward)")


class _BatchNormInputGradient(torch.autograd.Function):
    """BatchNorm's training-mode backward, as a function of (grad_out, x, weight).

    Forward is ATen's fused ``native_batch_norm_backward``, so the first-order
    gradients are exactly the native ones. Backward is the exact derivative of
    that backward, written as two more fused backward kernels and a few
    per-element operations instead of ATen's generic double backward (about
    thirty reductions and forty multiplications per layer). Per channel, with
    N elements, x̂ = (x − μ) r, P(z) = r (z − mean z − x̂ mean(z x̂)) and
    cotangents (u, u_γ, u_β) of (∂x, ∂γ, ∂β) = (γ P(g), Σ g x̂, Σ g):

        ∂/∂g = γ P(u) + u_γ x̂ + u_β
        ∂/∂γ = Σ u P(g)
        ∂/∂x = u_γ P(g) − γ r [r x̂ (mean(u g) − mean u · mean g − c d) + c P(u) + d P(g)],

    with c = mean(g x̂) and d = mean(u x̂). The statistics μ and r are passed in
    without a graph; their dependence on x is in the formula above, which is
    why a third derivative is refused rather than silently wrong.
    """

    @staticmethod
    def forward(ctx, grad_out, x, weight, mean, invstd, eps):
        ctx.save_for_backward(grad_out, x, weight, mean, invstd)
        ctx.eps = eps
        return torch.ops.aten.native_batch_norm_backward(
            grad_out, x, weight, None, None, mean, invstd, True, eps, [True, True, True]
        )

    @staticmethod
    def backward(ctx, u, u_weight, u_bias):
        _refuse_a_third_derivative()
        grad_out, x, weight, mean, invstd = ctx.saved_tensors
        channel = [1, -1] + [1] * (x.dim() - 2)  # a (C,) vector broadcast over (B, C, *spatial)
        dims = [0, *range(2, x.dim())]
        n = x.numel() // x.shape[1]

        def projected(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            # P(z), Σ z x̂ and Σ z in one fused kernel.
            return torch.ops.aten.native_batch_norm_backward(
                z, x, None, None, None, mean, invstd, True, ctx.eps, [True, True, True]
            )

        # Every full-size term is (per-channel coefficient) × (x, P(g) or P(u)), and
        # x̂ = r x − r μ is folded into those coefficients, so each output costs a
        # few fused multiply-adds; the sums below are per channel, (C,).
        p_g, g_x_hat_sum, g_sum = projected(grad_out)
        x_coefficient_g = torch.zeros_like(invstd)  # ∂/∂g's coefficient of x, from u_γ x̂
        constant_g = torch.zeros_like(invstd)  # and its constant, from u_γ x̂ and u_β
        if u_weight is not None:
            x_coefficient_g = u_weight * invstd
            constant_g = -x_coefficient_g * mean
        if u_bias is not None:
            constant_g = constant_g + u_bias
        grad_grad_out = torch.addcmul(constant_g.view(channel), x, x_coefficient_g.view(channel))
        grad_x = torch.zeros_like(x) if u_weight is None else p_g * u_weight.view(channel)
        grad_weight = None
        if u is not None:
            p_u, u_x_hat_sum, u_sum = projected(u)
            c, d = g_x_hat_sum / n, u_x_hat_sum / n
            e = (u * grad_out).sum(dims) / n - u_sum * g_sum / n**2 - c * d
            gamma_r = weight * invstd
            # −γ r [r x̂ e + c P(u) + d P(g)], with r x̂ = r² x − r² μ
            x_coefficient = -gamma_r * invstd.square() * e
            grad_x = torch.addcmul(grad_x, x, x_coefficient.view(channel)).sub_((x_coefficient * mean).view(channel))
            grad_x.addcmul_(p_u, (-gamma_r * c).view(channel)).addcmul_(p_g, (-gamma_r * d).view(channel))
            grad_grad_out.addcmul_(p_u, weight.view(channel))
            grad_weight = (u * p_g).sum(dims)
        return grad_grad_out, grad_x, grad_weight, None, None, None


class _BatchNormTraining(torch.autograd.Function):
    """Training-mode batch norm (batch statistics, running statistics updated in place)
    whose backward is :class:`_BatchNormInputGradient`, so it can be differentiated again cheaply."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, momentum, eps):
        out, mean, invstd = torch.native_batch_norm(x, weight, bias, running_mean, running_var, True, momentum, eps)
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.eps = eps
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, mean, invstd = ctx.saved_tensors
        grad_x, grad_weight, grad_bias = _BatchNormInputGradient.apply(grad_out, x, weight, mean, invstd, ctx.eps)
        return grad_x, grad_weight, grad_bias, None, None, None, None


class _ConvolutionGradient(torch.autograd.Function):
    """A 2-D convolution's backward, as a function of (grad_out, x, weight).

    Forward is ATen's ``convolution_backward``, so the first-order gradients are
    exactly the native ones. ATen's own double backward computes the gradient
    for the input even where nothing needs it (the image under the first
    layer) and takes it through the slow transposed-convolution path on the
    CPU; here each term is one native convolution, forward or backward, and is
    computed only where needed. With (u_x, u_w, u_b) the cotangents of
    (∂x, ∂w, ∂b):

        ∂/∂grad_out = conv(u_x, w) + conv(x, u_w) + u_b
        ∂/∂x        = the input gradient of conv(·, u_w) at grad_out
        ∂/∂w        = the weight gradient of conv(u_x, ·) at grad_out
    """

    @staticmethod
    def forward(ctx, grad_out, x, weight, has_bias, stride, padding, dilation, groups, output_mask):
        ctx.save_for_backward(grad_out, x, weight)
        ctx.geometry = (stride, padding, dilation, groups)
        return torch.ops.aten.convolution_backward(
            grad_out, x, weight, [weight.shape[0]] if has_bias else None,
            stride, padding, dilation, False, [0] * len(stride), groups, output_mask,
        )

    @staticmethod
    def backward(ctx, u_x, u_weight, u_bias):
        _refuse_a_third_derivative()
        grad_out, x, weight = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.geometry
        grad_grad_out = grad_x = grad_weight = None

        def backward_of(inputs: torch.Tensor, kernel: torch.Tensor, mask: list[bool]):
            return torch.ops.aten.convolution_backward(
                grad_out, inputs, kernel, None, stride, padding, dilation, False, [0] * len(stride), groups, mask
            )

        if ctx.needs_input_grad[0]:
            terms = []
            if u_x is not None:
                terms.append(F.conv2d(u_x, weight, None, stride, padding, dilation, groups))
            if u_weight is not None:
                terms.append(F.conv2d(x, u_weight, None, stride, padding, dilation, groups))
            if u_bias is not None:
                terms.append(u_bias.view(1, -1, 1, 1).expand_as(grad_out))
            grad_grad_out = sum(terms[1:], terms[0]) if terms else None
        if ctx.needs_input_grad[1] and u_weight is not None:
            grad_x = backward_of(x, u_weight, [True, False, False])[0]
        if ctx.needs_input_grad[2] and u_x is not None:
            grad_weight = backward_of(u_x, weight, [False, True, False])[1]
        return grad_grad_out, grad_x, grad_weight, None, None, None, None, None, None


class _Convolution(torch.autograd.Function):
    """``F.conv2d`` whose backward is :class:`_ConvolutionGradient`."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        device = x.device.type
        if torch.is_autocast_enabled(device):
            # As autocast casts a convolution's inputs; the backward then sees the
            # tensors the convolution saw, and autograd casts the gradients back.
            dtype = torch.get_autocast_dtype(device)
            x, weight, bias = (None if t is None else t.to(dtype) for t in (x, weight, bias))
        ctx.save_for_backward(x, weight)
        ctx.geometry = (stride, padding, dilation, groups)
        ctx.has_bias = bias is not None
        with torch.autocast(device, enabled=False):
            return F.conv2d(x, weight, bias, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        mask = [ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.has_bias and ctx.needs_input_grad[2]]
        grad_x, grad_weight, grad_bias = _ConvolutionGradient.apply(grad_out, x, weight, ctx.has_bias, *ctx.geometry, mask)
        return grad_x, grad_weight, grad_bias, None, None, None, None


class MetaConv2d(nn.Conv2d):
    """``nn.Conv2d`` with the same forward, state and first-order gradients, and a
    double backward of native convolutions only where needed (see :class:`_ConvolutionGradient`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding_mode != "zeros" or isinstance(self.padding, str) or not torch.is_grad_enabled():
            return super().forward(x)
        return _Convolution.apply(x, self.weight, self.bias, list(self.stride), list(self.padding), list(self.dilation), self.groups)


class MetaBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` with the same forward, state and first-order gradients,
    and a double backward of a few fused kernels (see :class:`_BatchNormInputGradient`).

    Only a training-mode, affine layer takes the custom path; in eval mode the
    layer is an affine map, whose native double backward is already cheap.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and self.affine):
            return super().forward(x)
        self._check_input_dim(x)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative moving average, as nn.BatchNorm2d's
                momentum = 1.0 / float(self.num_batches_tracked)
        return _BatchNormTraining.apply(x, self.weight, self.bias, self.running_mean, self.running_var, momentum, self.eps)


def with_meta_layers(module: nn.Module) -> nn.Module:
    """``module`` with every ``nn.Conv2d`` and ``nn.BatchNorm2d`` replaced by :class:`MetaConv2d`
    and :class:`MetaBatchNorm2d` holding the same parameters and buffers, so state
    dicts and checkpoints are unchanged; only the double backward gets cheaper."""
    meta_class = {nn.Conv2d: MetaConv2d, nn.BatchNorm2d: MetaBatchNorm2d}.get(type(module))
    if meta_class is not None:
        meta = meta_class.__new__(meta_class)
        meta.__dict__ = module.__dict__  # the same parameters, buffers, hooks and settings
        return meta
    for name, child in module.named_children():
        setattr(module, name, with_meta_layers(child))
    return module
