"""Schedules over training progress p in [0, 1] for the learning rate and the reversal factor."""

from __future__ import annotations

import math
from collections.abc import Sequence

LR_SCHEDULES = ("anneal", "step", "constant")
LAMBDA_SCHEDULES = ("ramp", "constant")


def lambda_ramp(p: float, gamma: float = 10.0) -> float:
    """Ganin's adaptation factor 2 / (1 + exp(-gamma p)) - 1: 0 at the start, towards 1 at the end."""
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


def lr_anneal(p: float, lr0: float, alpha: float = 10.0, beta: float = 0.75) -> float:
    """Ganin's annealing mu_p = mu_0 / (1 + alpha p)^beta."""
    return lr0 / (1.0 + alpha * p) ** beta


def lr_step(p: float, lr0: float, milestones: Sequence[float] = (0.5, 0.75), factor: float = 0.1) -> float:
    """Multiply by `factor` at each milestone (fractions of training) passed."""
    return lr0 * factor ** sum(p >= m for m in milestones)


def learning_rate(kind: str, p: float, lr0: float, alpha: float, beta: float) -> float:
    if kind == "anneal":
        return lr_anneal(p, lr0, alpha, beta)
    if kind == "step":
        return lr_step(p, lr0)
    if kind == "constant":
        return lr0
    raise ValueError(f"unknown learning-rate schedule {kind!r}")


def reversal_factor(kind: str, p: float, gamma: float, scale: float) -> float:
    """lambda at progress p: `scale` times the ramp, or `scale` itself when constant."""
    if kind == "ramp":
        return scale * lambda_ramp(p, gamma)
    if kind == "constant":
        return scale
    raise ValueError(f"unknown lambda schedule {kind!r}")
