"""Additive Gaussian noise on activations while training: a regulariser of the small
digit networks of Shu et al. 2018 (RuiShu/dirt-t, `noise` after each pooling block)."""

from __future__ import annotations

import torch
from torch import nn


class GaussianNoise(nn.Module):
    """x + N(0, std^2) in training mode, x unchanged in eval mode (and at std 0).

    The noise comes from torch's global generator, like dropout's masks: the trainer seeds
    it at every step from (seed, step), so a resumed run draws the same noise."""

    def __init__(self, std: float):
        super().__init__()
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.std == 0:
            return x
        return x + self.std * torch.randn_like(x)

    def extra_repr(self) -> str:
        return f"std={self.std}"
