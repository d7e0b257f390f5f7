"""Ganin & Lempitsky's MNIST -> MNIST-M network (ICML 2015, and Ganin et al., JMLR 2016,
figure 4, "MNIST architecture"): G_f two 5 x 5 convolutions with max-pooling, G_y
100 -> 100 -> classes. advlab's default backbone."""

from __future__ import annotations

import torch
from torch import nn

from advlab.backbones.base import Backbone

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


class GaninNet(Backbone):
    """G_f (3 x 28 x 28 -> 768 features) followed by G_y (features -> class logits)."""

    name = "ganin"
    about = "Ganin & Lempitsky 2015's MNIST network: 28x28 colour, two 5x5 convolutions, G_y 100-100 (the default)"
    input_size, input_channels = 28, 3
    feature_dim = FEATURES
    per_image = True  # no batch norm, dropout or noise

    def __init__(self, num_classes: int = 10, normalization: str = "global", **options):
        super().__init__(num_classes, normalization, **options)
        self.features = nn.Sequential(  # G_f: 3x28x28 -> 768
            nn.Conv2d(3, 32, kernel_size=5),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 48, kernel_size=5),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
            nn.Flatten(),
        )
        self.classifier = self.make_classifier()  # G_y
        self.to(memory_format=torch.channels_last)

    def make_classifier(self) -> nn.Module:
        return label_predictor(FEATURES, self.num_classes)
