"""The "small" network of Shu, Bui, Narui & Ermon, "A DIRT-T Approach to Unsupervised Domain
Adaptation" (ICLR 2018), table 6, as RuiShu/dirt-t builds it (codebase/models/nns/small.py):

    instance norm of the input (--inorm 1, their default)
    3 x [3x3 conv 64, batch norm, leaky ReLU 0.1], 2x2 max-pool, dropout 0.5, Gaussian noise 1
    3 x [3x3 conv 64, ...],                        2x2 max-pool, dropout 0.5, Gaussian noise 1
    3 x [3x3 conv 64, ...], global average pool, dense -> classes with batch norm

Their code splits it at `trim = 5` (their default): the domain discriminator and the
features are the 64 x 8 x 8 maps after the second block (4096 wide), and the classifier is
the last convolution block with its head. The batch norm on the logits is theirs too (every
dense layer of the network has bn=True). Padding "same"; TensorFlow's instance norm, eps 1e-3
with a learned scale and shift."""

from __future__ import annotations

import torch
from torch import nn

from advlab.backbones.base import Backbone, check_regularisers
from advlab.config import option
from advlab.nn import GaussianNoise

WIDTH = 64
SLOPE = 0.1
FEATURE_MAP = (WIDTH, 8, 8)


def conv_block(width_in: int, width: int) -> list[nn.Module]:
    """Three 3x3 convolutions, each with batch norm and a leaky ReLU."""
    layers: list[nn.Module] = []
    for i in range(3):
        layers += [
            nn.Conv2d(width_in if i == 0 else width, width, kernel_size=3, padding=1),
            nn.BatchNorm2d(width),
            nn.LeakyReLU(SLOPE, inplace=True),
        ]
    return layers


class DirttSmall(Backbone):
    name = "dirtt_small"
    about = "Shu et al. 2018's small network: 32x32 colour, 9 3x3 convolutions of 64 with batch norm, noise, dropout"
    input_size, input_channels = 32, 3
    feature_dim = WIDTH * 8 * 8
    batch_statistic = "batch norm"
    options = {
        "dirtt_small_instance_norm": (bool, option(True, "dirtt_small: instance-normalise each input image")),
        "dirtt_small_dropout": (float, option(0.5, "dirtt_small: dropout after each of the first two blocks")),
        "dirtt_small_noise": (float, option(1.0, "dirtt_small: std of the Gaussian noise after those blocks")),
    }

    @classmethod
    def check(cls, cfg) -> None:
        check_regularisers(cfg, "dirtt_small")

    def __init__(self, num_classes: int = 10, normalization: str = "global", **options):
        super().__init__(num_classes, normalization, **options)
        s = self.settings
        self.features = nn.Sequential(
            nn.InstanceNorm2d(3, eps=1e-3, affine=True) if s["dirtt_small_instance_norm"] else nn.Identity(),
            *conv_block(3, WIDTH),
            nn.MaxPool2d(2),  # 16 x 16
            nn.Dropout(s["dirtt_small_dropout"]),
            GaussianNoise(s["dirtt_small_noise"]),
            *conv_block(WIDTH, WIDTH),
            nn.MaxPool2d(2),  # 8 x 8
            nn.Dropout(s["dirtt_small_dropout"]),
            GaussianNoise(s["dirtt_small_noise"]),
            nn.Flatten(),
        )
        self.classifier = self.make_classifier()
        self.to(memory_format=torch.channels_last)

    def make_classifier(self) -> nn.Module:
        return nn.Sequential(
            nn.Unflatten(1, FEATURE_MAP),
            *conv_block(WIDTH, WIDTH),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(WIDTH, self.num_classes),
            nn.BatchNorm1d(self.num_classes),
        )
