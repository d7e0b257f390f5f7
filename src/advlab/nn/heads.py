"""Heads that adaptation methods attach to the backbone's features."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class DomainDiscriminator(nn.Sequential):
    """in -> hidden (ReLU) ... -> 1 logit; target is class 1.

    With `hidden=(100,)` and a 768-wide input it is Ganin's MNIST domain classifier G_d;
    CDAN feeds it the multilinear map (features x classes wide), ADDA uses two layers of 500.
    """

    def __init__(self, in_features: int, hidden: Sequence[int] = (100,)):
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(inplace=True)]
            width = h
        super().__init__(*layers, nn.Linear(width, 1))
        self.in_features = in_features


def domain_loss(logits: torch.Tensor, n_source: int, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy of domain logits for [source; target] (source 0, target 1)."""
    is_target = torch.cat([torch.zeros(n_source), torch.ones(len(logits) - n_source)]).to(logits.device)
    return F.binary_cross_entropy_with_logits(logits, is_target, weight=weight)
