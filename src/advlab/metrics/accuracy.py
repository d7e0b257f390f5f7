"""Accuracies computed in large no-grad batches."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def batched(fn, x: torch.Tensor, batch_size: int = 2000, device: str | torch.device = "cpu") -> torch.Tensor:
    """Apply `fn` to `x` in chunks and concatenate the outputs (on the CPU)."""
    return torch.cat([fn(x[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)])


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return (logits.argmax(1) == labels).float().mean().item()


def per_class_accuracy(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> list[float]:
    correct = logits.argmax(1) == labels
    return [correct[labels == c].float().mean().item() if (labels == c).any() else float("nan") for c in range(num_classes)]


def domain_accuracy(model: nn.Module, source_x: torch.Tensor, target_x: torch.Tensor, device="cpu") -> float:
    """How well G_d tells source (logit < 0) from target (logit > 0) on held-out images."""
    was_training = model.training
    model.eval()
    ds = batched(lambda x: model.discriminator(model.embed(x)), source_x, device=device).squeeze(1)
    dt = batched(lambda x: model.discriminator(model.embed(x)), target_x, device=device).squeeze(1)
    model.train(was_training)
    return torch.cat([ds < 0, dt > 0]).float().mean().item()
