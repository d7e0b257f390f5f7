"""Accuracies computed in large no-grad batches."""

from __future__ import annotations

import torch


@torch.no_grad()
def batched(fn, x: torch.Tensor, batch_size: int = 2000, device: str | torch.device = "cpu") -> torch.Tensor:
    """Apply `fn` to `x` in chunks and concatenate the outputs (on the CPU)."""
    return torch.cat([fn(x[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)])


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return (logits.argmax(1) == labels).float().mean().item()


def per_class_accuracy(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> list[float]:
    correct = logits.argmax(1) == labels
    return [
        correct[labels == c].float().mean().item() if (labels == c).any() else float("nan") for c in range(num_classes)
    ]


def domain_accuracy(source_logits: torch.Tensor, target_logits: torch.Tensor) -> float:
    """How well G_d tells source (logit < 0) from target (logit > 0) on held-out images, as
    balanced accuracy: the mean of the two domains' accuracies, so chance is 0.5 whatever
    the sizes of the two test sets (pooled, 10k source and 9k target images, it was not)."""
    return 0.5 * ((source_logits < 0).float().mean().item() + (target_logits > 0).float().mean().item())
