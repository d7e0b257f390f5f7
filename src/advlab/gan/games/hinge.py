"""The hinge game of Lim & Ye 2017 and Miyato et al. 2018 (SNGAN)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from advlab.gan.games.base import Game


class Hinge(Game):
    """D: max(0, 1 - D(x)) + max(0, 1 + D(G(z))); G: -D(G(z)). D stops pushing on images
    beyond the margin, which with spectral normalisation gives SNGAN's steadier games."""

    name = "hinge"
    about = "hinge (Lim & Ye 2017; SNGAN): D's margin loss, G raises D(G(z))"

    def real_term(self, logits: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - logits).mean()

    def fake_term(self, logits: torch.Tensor) -> torch.Tensor:
        return F.relu(1 + logits).mean()

    def generator_term(self, logits: torch.Tensor) -> torch.Tensor:
        return -logits.mean()
