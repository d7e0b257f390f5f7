"""Ganin & Lempitsky's MNIST -> MNIST-M network: the feature extractor G_f and the label
predictor G_y. It is the backbone every adaptation method trains; heads a method adds
(a domain discriminator, a second classifier) live with that method."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from advlab.nn import InputNorm

FEATURES = 48 * 4 * 4


def label_predictor(in_features: int, num_classes: int, hidden: int = 100) -> nn.Sequential:
    """G_y: in -> 100 -> 100 -> classes (Ganin's MNIST architecture)."""
    return nn.Sequential(
        nn.Linear(in_features, hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, num_classes),
    )


class GaninNet(nn.Module):
    """G_f (uint8 images -> 768 features) followed by G_y (features -> class logits)."""

    def __init__(self, num_classes: int = 10, normalization: str = "global"):
        super().__init__()
        self.num_classes, self.normalization = num_classes, normalization
        self.input = InputNorm(normalization)
        self.features = nn.Sequential(  # G_f: 3x28x28 -> 768
            nn.Conv2d(3, 32, kernel_size=5),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 48, kernel_size=5),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
            nn.Flatten(),
        )
        self.classifier = label_predictor(FEATURES, num_classes)  # G_y
        self.to(memory_format=torch.channels_last)

    @property
    def feature_dim(self) -> int:
        return FEATURES

    def constructor_args(self) -> dict[str, Any]:
        """What a checkpoint records so that a run directory can rebuild this model."""
        return {"num_classes": self.num_classes, "normalization": self.normalization}

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images -> features of G_f."""
        return self.features(self.input(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self.classifier(self.embed(images))
