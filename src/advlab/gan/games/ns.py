"""The non-saturating game of Goodfellow et al. 2014: DCGAN's, and advlab's default."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from advlab.gan.games.base import Game


class NonSaturating(Game):
    """D: binary cross-entropy on real (1) and fake (0). G maximises log D(G(z)) instead of
    minimising log(1 - D(G(z))), whose gradient vanishes while D wins."""

    name = "ns"
    about = "non-saturating (Goodfellow et al. 2014): D's binary cross-entropy, G maximises log D(G(z))"

    def real_term(self, logits: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))

    def fake_term(self, logits: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))

    def generator_term(self, logits: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
