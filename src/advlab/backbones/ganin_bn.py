"""Ganin's MNIST network with the "simple tricks" that RuiShu/vda-hax found to carry most of
VADA's gain over DANN on digits (and that Shu et al. 2018's small network has): batch norm
after every convolution and hidden layer, dropout and additive Gaussian noise on the
features while training, and optionally instance norm of the input image (which removes
each image's colour and contrast before the first convolution)."""

from __future__ import annotations

import torch
from torch import nn

from advlab.backbones.base import Backbone, check_regularisers
from advlab.backbones.ganin import FEATURES
from advlab.config import option
from advlab.nn import GaussianNoise

HIDDEN = 100


class GaninBN(Backbone):
    name = "ganin_bn"
    about = "Ganin's network with batch norm, dropout and Gaussian noise on the features, optional input instance norm"
    input_size, input_channels = 28, 3
    feature_dim = FEATURES
    batch_statistic = "batch norm"
    options = {
        "ganin_bn_dropout": (float, option(0.5, "ganin_bn: dropout on the features while training")),
        "ganin_bn_noise": (float, option(1.0, "ganin_bn: std of the Gaussian noise added to the features")),
        "ganin_bn_instance_norm": (bool, option(False, "ganin_bn: instance-normalise each input image")),
    }

    @classmethod
    def check(cls, cfg) -> None:
        check_regularisers(cfg, "ganin_bn")

    def __init__(self, num_classes: int = 10, normalization: str = "global", **options):
        super().__init__(num_classes, normalization, **options)
        s = self.settings
        self.features = nn.Sequential(
            nn.InstanceNorm2d(3, eps=1e-3, affine=True) if s["ganin_bn_instance_norm"] else nn.Identity(),
            nn.Conv2d(3, 32, kernel_size=5),
            nn.BatchNorm2d(32),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 48, kernel_size=5),
            nn.BatchNorm2d(48),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
            nn.Dropout(s["ganin_bn_dropout"]),
            GaussianNoise(s["ganin_bn_noise"]),
            nn.Flatten(),
        )
        self.classifier = self.make_classifier()
        self.to(memory_format=torch.channels_last)

    def make_classifier(self) -> nn.Module:
        return nn.Sequential(
            nn.Linear(FEATURES, HIDDEN),
            nn.BatchNorm1d(HIDDEN),
            nn.ReLU(inplace=True),
            nn.Linear(HIDDEN, HIDDEN),
            nn.BatchNorm1d(HIDDEN),
            nn.ReLU(inplace=True),
            nn.Linear(HIDDEN, self.num_classes),
        )
