"""An exponential moving average of a model's weights: the one implementation behind the
GAN's averaged generator and `advlab adapt --ema-decay` (and the teachers of methods that
keep one)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """An exponential moving average of a model's weights (buffers copied as they are).

    Averaging over the last few thousand steps smooths out the noise of the last updates: a
    GAN's generator oscillates in its game, a classifier's weights wander around a minimum
    (Polyak averaging); the average is what is evaluated and kept as the result.
    """

    def __init__(self, model: nn.Module, decay: float):
        self.model, self.decay = copy.deepcopy(model).eval().requires_grad_(False), decay
        self.source = model

    @torch.no_grad()
    def update(self, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))  # short memory while the first steps are poor
        torch._foreach_lerp_(list(self.model.parameters()), list(self.source.parameters()), 1 - decay)
        for mine, theirs in zip(self.model.buffers(), self.source.buffers()):
            mine.copy_(theirs)
