"""LeNet for 28 x 28 grey digits as the digit experiments of ADDA (Tzeng et al. 2017), CyCADA
(Hoffman et al. 2018) and Transfer-Learning-Library (`tllib.vision.models.digits.LeNet`) use
it: 20 and 50 5 x 5 convolutions, a 500-unit layer with dropout, a linear head. (Not the
GAN evaluator of advlab.models.lenet, which has batch norm and is trained on its own.)"""

from __future__ import annotations

import torch
from torch import nn

from advlab.backbones.base import Backbone

FEATURES = 500


class LeNet(Backbone):
    name = "lenet"
    about = "LeNet of ADDA/CyCADA/TLlib: 28x28 grey, 20-50 5x5 convolutions, 500 features with dropout"
    input_size, input_channels = 28, 1
    feature_dim = FEATURES

    def __init__(self, num_classes: int = 10, normalization: str = "global", **options):
        super().__init__(num_classes, normalization, **options)
        self.features = nn.Sequential(
            nn.Conv2d(1, 20, kernel_size=5),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
            nn.Conv2d(20, 50, kernel_size=5),
            nn.Dropout2d(0.5),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
            nn.Flatten(),
            nn.Linear(50 * 4 * 4, FEATURES),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
        )
        self.classifier = self.make_classifier()
        self.to(memory_format=torch.channels_last)

    def make_classifier(self) -> nn.Module:
        return nn.Linear(FEATURES, self.num_classes)
