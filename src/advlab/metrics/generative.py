"""Sample-quality metrics computed with a classifier's outputs: no download needed.

All functions take plain tensors, so they are tested on cases with known answers.
"""

from __future__ import annotations

import math

import torch


def gaussian_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (unbiased) covariance of (N, D) features, in float64."""
    f = features.double()
    return f.mean(0), torch.cov(f.T)


def _sqrtm_psd(m: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh((m + m.T) / 2)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(mu1: torch.Tensor, cov1: torch.Tensor, mu2: torch.Tensor, cov2: torch.Tensor) -> float:
    """||mu1 - mu2||^2 + Tr(C1 + C2 - 2 (C1 C2)^(1/2)), with Tr((C1 C2)^(1/2)) computed as
    Tr((C1^(1/2) C2 C1^(1/2))^(1/2)), which is symmetric and stable."""
    s1 = _sqrtm_psd(cov1)
    cross = torch.linalg.eigvalsh(s1 @ cov2 @ s1).clamp_min(0).sqrt().sum()
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(cov1) + torch.trace(cov2) - 2 * cross)


def frechet_distance_of(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    return frechet_distance(*gaussian_stats(features_a), *gaussian_stats(features_b))


def inception_score(probs: torch.Tensor, splits: int = 1) -> float:
    """exp(E_x KL(p(y|x) || p(y))) with p(y) the mean prediction (averaged over `splits` chunks)."""
    scores = []
    for chunk in probs.double().chunk(splits):
        marginal = chunk.mean(0, keepdim=True)
        kl = (chunk * (chunk.clamp_min(1e-12).log() - marginal.clamp_min(1e-12).log())).sum(1).mean()
        scores.append(math.exp(float(kl)))
    return sum(scores) / len(scores)


def class_histogram(predicted: torch.Tensor, num_classes: int) -> torch.Tensor:
    return torch.bincount(predicted, minlength=num_classes).double() / len(predicted)


def coverage(predicted: torch.Tensor, num_classes: int, min_share: float | None = None) -> int:
    """Classes that receive at least `min_share` of the samples (default: half a uniform
    share, 1 / (2 K); 0.05 for ten classes)."""
    share = 0.5 / num_classes if min_share is None else min_share
    return int((class_histogram(predicted, num_classes) >= share).sum())


def kl_from_uniform(predicted: torch.Tensor, num_classes: int) -> float:
    """KL(histogram || uniform): 0 for perfectly balanced classes, log(K) for a single class."""
    h = class_histogram(predicted, num_classes)
    nz = h > 0
    return float((h[nz] * (h[nz] * num_classes).log()).sum())


def conditional_accuracy(predicted: torch.Tensor, requested: torch.Tensor) -> float:
    """Share of images generated for class y that the evaluator labels y."""
    return float((predicted == requested).double().mean())


def mode_coverage(modes: torch.Tensor, num_modes: int) -> dict[str, float]:
    """The Stacked-MNIST numbers (VEEGAN / PacGAN protocol) for samples' modes (integers in
    0..num_modes-1): how many modes hold at least one sample, and KL(histogram || uniform),
    0 when every mode is drawn equally often."""
    return {"modes": int(torch.unique(modes).numel()), "kl_modes": kl_from_uniform(modes, num_modes)}
