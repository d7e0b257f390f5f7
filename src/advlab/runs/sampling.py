"""Batches by indexing in-memory tensors: shuffled passes, a pure function of (seed, step).

Because batch k is computed from the seed and k alone, a resumed run draws exactly the
batches the uninterrupted run would have drawn, with no sampler state to checkpoint.
"""

from __future__ import annotations

import torch

from advlab.errors import AdvlabError

STREAM = 1 << 60  # above every seed * 1_000_003 + step (seeds < 2**32): streams never share a seed
MODEL_STREAM = 1  # the model's own randomness (dropout, noise), drawn from torch's global generator
VIEWS_STREAM = 2  # a method's views of its batch (augmentations, perturbations)


def step_seed(seed: int, step: int, stream: int = 0) -> int:
    """The seed of a run's randomness at one step, one stream per use: a resumed run redraws it
    identically, and two uses (augmentation, dropout) never draw the same numbers."""
    return seed * 1_000_003 + step + stream * STREAM


def step_generator(seed: int, step: int) -> torch.Generator:
    """A generator seeded by (seed, step): randomness that a resumed run redraws identically."""
    return torch.Generator().manual_seed(step_seed(seed, step))


class IndexStream:
    """Endless shuffled passes over n items in batches of `batch_size` (each pass drops its remainder)."""

    def __init__(self, n: int, batch_size: int, seed: int):
        if batch_size > n:
            raise AdvlabError(f"batch size {batch_size} is larger than the {n} images to draw from")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.steps_per_pass = n // batch_size
        self._pass, self._perm = -1, None

    def indices(self, step: int) -> torch.Tensor:
        k, j = divmod(step, self.steps_per_pass)
        if k != self._pass:
            self._pass, self._perm = k, torch.randperm(self.n, generator=step_generator(self.seed, k))
        return self._perm[j * self.batch_size : (j + 1) * self.batch_size]
