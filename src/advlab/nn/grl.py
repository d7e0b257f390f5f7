"""Gradient reversal (Ganin & Lempitsky 2015): identity forward, gradient times -lambda backward."""

from __future__ import annotations

import torch
from torch import nn


class _ScaleGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, factor: float) -> torch.Tensor:
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad * ctx.factor, None


def scale_grad(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Identity in the forward pass; multiplies the incoming gradient by `factor`."""
    return _ScaleGradient.apply(x, float(factor))


def grad_reverse(x: torch.Tensor, lam: float) -> torch.Tensor:
    """The gradient reversal layer R_lambda: forward x, backward -lambda * grad."""
    return scale_grad(x, -lam)


class GradientReversal(nn.Module):
    """Gradient reversal as a module whose coefficient `lam` may be changed every step."""

    def __init__(self, lam: float = 1.0):
        super().__init__()
        self.lam = lam

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return grad_reverse(x, self.lam)

    def extra_repr(self) -> str:
        return f"lam={self.lam}"
