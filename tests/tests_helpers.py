"""Helpers importable from test modules (conftest fixtures cover the rest)."""

import torch

from advlab.data.domains import Split
from conftest import synthetic_digits


def synthetic_split(n: int, seed: int) -> Split:
    x, y = synthetic_digits(n, seed, colour=False)
    return Split(torch.from_numpy(x[:, None]), torch.from_numpy(y))
