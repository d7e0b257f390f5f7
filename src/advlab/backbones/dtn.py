"""The DTN digit network for 32 x 32 colour images (Taigman, Polyak & Wolf 2017's SVHN ->
MNIST encoder, as CyCADA and Transfer-Learning-Library, `tllib.vision.models.digits.DTN`,
use it): three strided 5 x 5 convolutions (64, 128, 256) with batch norm and channel
dropout 0.1 / 0.3 / 0.5, a 512-unit layer with batch norm and dropout, a linear head."""

from __future__ import annotations

import torch
from torch import nn

from advlab.backbones.base import Backbone

FEATURES = 512


class DTN(Backbone):
    name = "dtn"
    about = "DTN of CyCADA/TLlib: 32x32 colour, three strided 5x5 convolutions with batch norm, 512 features"
    input_size, input_channels = 32, 3
    feature_dim = FEATURES
    batch_statistic = "batch norm"

    def __init__(self, num_classes: int = 10, normalization: str = "global", **options):
        super().__init__(num_classes, normalization, **options)
        layers: list[nn.Module] = []
        width = 3
        for out, drop in ((64, 0.1), (128, 0.3), (256, 0.5)):  # 32 -> 16 -> 8 -> 4
            layers += [
                nn.Conv2d(width, out, kernel_size=5, stride=2, padding=2),
                nn.BatchNorm2d(out),
                nn.Dropout2d(drop),
                nn.ReLU(inplace=True),
            ]
            width = out
        self.features = nn.Sequential(
            *layers,
            nn.Flatten(),
            nn.Linear(256 * 4 * 4, FEATURES),
            nn.BatchNorm1d(FEATURES),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
        )
        self.classifier = self.make_classifier()
        self.to(memory_format=torch.channels_last)

    def make_classifier(self) -> nn.Module:
        return nn.Linear(FEATURES, self.num_classes)
