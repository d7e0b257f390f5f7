"""Small batches and a built method for the method tests."""

from __future__ import annotations

import torch

from advlab.backbones.ganin import GaninNet
from advlab.methods import METHODS, Batch, StepInfo
from advlab.train.config import AdaptConfig


def small_batch(n_source: int = 6, n_target: int = 4, target_labels: bool = False, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(
        torch.randint(0, 256, (n_source, 1, 28, 28), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (n_source,), generator=g),
        torch.randint(0, 256, (n_target, 3, 28, 28), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (n_target,), generator=g) if target_labels else None,
    )


def build(name: str, **options):
    torch.manual_seed(0)
    cfg = AdaptConfig(method=name, **options)
    return METHODS[name](GaninNet(10, cfg.normalization), cfg)


def info(lam: float = 0.5, epoch: int = 0) -> StepInfo:
    return StepInfo(lam=lam, epoch=epoch)


def grads(module: torch.nn.Module) -> list[torch.Tensor | None]:
    return [None if p.grad is None else p.grad.clone() for p in module.parameters()]


def has_gradient(module: torch.nn.Module) -> bool:
    return any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())
