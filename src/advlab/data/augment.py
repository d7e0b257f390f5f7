"""Batch-level augmentation of labelled source images, seeded by (seed, step) so a resumed
run draws the same augmentations as an uninterrupted one."""

from __future__ import annotations

import torch

from advlab.runs.sampling import step_generator

AUGMENTATIONS = ("none", "invert")


def augment(images: torch.Tensor, kind: str, seed: int, step: int) -> torch.Tensor:
    """`invert` replaces a random half of the uint8 images by their negative (255 - x).

    Digits that are darker than their background are then no surprise to the classifier;
    in MNIST-M a stroke is |background - 255|, so it is darker wherever the background
    is bright. It is label-preserving and uses nothing of the target domain.
    """
    if kind == "none":
        return images
    if kind == "invert":
        flip = (torch.rand(len(images), generator=step_generator(seed, step)) < 0.5).to(images.device).view(-1, 1, 1, 1)
        return torch.where(flip, 255 - images, images)
    raise ValueError(f"unknown augmentation {kind!r}")
