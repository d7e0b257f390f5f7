"""Ganin & Lempitsky's MNIST -> MNIST-M network: G_f, G_y and G_d."""

from __future__ import annotations

import torch
from torch import nn

from advlab.nn import InputNorm

FEATURES = 48 * 4 * 4


class DANNNet(nn.Module):
    """Feature extractor G_f, label predictor G_y and domain classifier G_d (one logit).

    The gradient reversal layer is not part of the model: the training method decides how
    the domain loss flows back into G_f (reversed for DANN, not reversed for the ablation).
    """

    def __init__(self, num_classes: int = 10, normalization: str = "global"):
        super().__init__()
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
        self.classifier = nn.Sequential(  # G_y: 768 -> 100 -> 100 -> classes
            nn.Linear(FEATURES, 100),
            nn.ReLU(inplace=True),
            nn.Linear(100, 100),
            nn.ReLU(inplace=True),
            nn.Linear(100, num_classes),
        )
        self.discriminator = nn.Sequential(  # G_d: 768 -> 100 -> 1 logit (target = 1)
            nn.Linear(FEATURES, 100),
            nn.ReLU(inplace=True),
            nn.Linear(100, 1),
        )
        self.to(memory_format=torch.channels_last)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images -> features of G_f."""
        return self.features(self.input(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self.classifier(self.embed(images))
