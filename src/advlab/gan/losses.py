"""The GAN loss families, chosen by name: each is D's terms for logits it should call real
and fake, and G's term for D's logits on its images. Means over the batch.

- `ns`: the non-saturating loss of Goodfellow et al. 2014 (D: binary cross-entropy; G:
  maximise log D(G(z)) rather than minimise log(1 - D(G(z))), whose gradient vanishes
  while D wins). DCGAN's loss, and advlab's default.
- `hinge`: the hinge loss of Lim & Ye 2017 / Miyato et al. 2018 (D: max(0, 1 - D(x)) +
  max(0, 1 + D(G(z))); G: -D(G(z))). D stops pushing on samples beyond the margin, which
  with spectral normalisation gives the steadier games of SNGAN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("ns", "hinge")


def real_term(loss: str, logits: torch.Tensor) -> torch.Tensor:
    """D's loss on logits it should call real."""
    if loss == "ns":
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    if loss == "hinge":
        return F.relu(1 - logits).mean()
    raise ValueError(f"unknown GAN loss {loss!r}")


def fake_term(loss: str, logits: torch.Tensor) -> torch.Tensor:
    """D's loss on logits it should call fake (G's images; real images under a wrong label)."""
    if loss == "ns":
        return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))
    if loss == "hinge":
        return F.relu(1 + logits).mean()
    raise ValueError(f"unknown GAN loss {loss!r}")


def generator_term(loss: str, logits: torch.Tensor) -> torch.Tensor:
    """G's loss on D's logits for G's images."""
    if loss == "ns":
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    if loss == "hinge":
        return -logits.mean()
    raise ValueError(f"unknown GAN loss {loss!r}")
