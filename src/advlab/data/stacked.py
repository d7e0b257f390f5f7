"""Stacked-MNIST (Metz et al. 2017; the VEEGAN / PacGAN mode-coverage benchmark): three
MNIST digits drawn independently at random become the red, green and blue channels of one
image, so there are 10³ = 1000 modes, one per digit triple, all equally likely. Its label
is the triple read as a number, 100·red + 10·green + blue.
"""

from __future__ import annotations

import numpy as np

TRAIN_IMAGES = 60_000  # as many as MNIST's training set, so an epoch costs the same
TEST_IMAGES = 10_000
MODES = 1000


def stack_digits(x: np.ndarray, y: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n images (n, 3, H, W) built from grey digits x (N, 1, H, W) with labels y: each
    channel an independent uniform draw from the N digits (seeded)."""
    picks = np.random.default_rng(seed).integers(0, len(x), size=(n, 3))
    images = x[picks, 0]  # (n, 3, H, W): the three draws are the three channels
    labels = y[picks] @ np.array([100, 10, 1])
    return np.ascontiguousarray(images), labels.astype(np.int64)


def stacked_mnist(mnist: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Both splits, the training one from MNIST's training digits and the test one from its
    test digits (fixed seeds: every run trains on the same images)."""
    return {
        "train": stack_digits(*mnist["train"], TRAIN_IMAGES, seed=0),
        "test": stack_digits(*mnist["test"], TEST_IMAGES, seed=1),
    }


def digit_triples(labels: np.ndarray) -> np.ndarray:
    """The inverse of the label: (n, 3) digits, red first."""
    labels = np.asarray(labels)
    return np.stack([labels // 100, labels // 10 % 10, labels % 10], axis=1)
