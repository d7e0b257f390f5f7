"""DCGAN generator and discriminator for 28 x 28 images, optionally conditioned on a class.

Conditioning follows Mirza & Osindero on the DCGAN architecture: G takes [z ; one_hot(y)];
D takes the image with one_hot(y) expanded over height and width as extra input channels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def init_dcgan_weights(module: nn.Module) -> None:
    """N(0, 0.02) for convolutions and linear layers, N(1, 0.02) for batch-norm scales (DCGAN)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """[z ; y] -> 7x7 maps -> 14x14 -> 28x28 image in [-1, 1]."""

    def __init__(self, z_dim: int = 100, num_classes: int = 10, width: int = 64, channels: int = 1):
        super().__init__()
        self.z_dim, self.num_classes, self.width, self.channels = z_dim, num_classes, width, channels
        self.project = nn.Sequential(  # [z ; y] -> 2w x 7 x 7
            nn.Linear(z_dim + num_classes, 2 * width * 7 * 7, bias=False),
            nn.BatchNorm1d(2 * width * 7 * 7),
            nn.ReLU(inplace=True),
        )
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),  # 14 x 14
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1),  # 28 x 28
            nn.Tanh(),
        )
        self.apply(init_dcgan_weights)
        self.to(memory_format=torch.channels_last)  # about 1.3x faster convolutions on CPU

    def constructor_args(self) -> dict[str, int]:
        """What a checkpoint records so that a run directory can rebuild its own G."""
        return {"z_dim": self.z_dim, "num_classes": self.num_classes, "width": self.width, "channels": self.channels}

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        return self.upsample(self.project(z).view(len(z), 2 * self.width, 7, 7))


class Discriminator(nn.Module):
    """image (+ y) -> 14x14 -> 7x7 -> one logit (real = 1).

    `conditioning` says how y reaches D: `channels` (its one-hot maps stacked on the image),
    `projection` (Miyato & Koyama 2018: <embed(y), features> added to the output) or `none`
    (default: channels when there are classes). With `pack` M > 1, D judges M consecutive
    samples of its batch at a time, stacked as channels (PacGAN): a batch of B images gives
    B / M logits. `spectral_norm` normalises every layer's weight by its largest singular
    value (Miyato et al. 2018) and drops the batch norm, as SNGAN's D does; `batch_norm`
    False drops it too (a critic whose gradient is penalised image by image: WGAN-GP).
    """

    def __init__(
        self,
        num_classes: int = 10,
        width: int = 64,
        channels: int = 1,
        conditioning: str | None = None,
        pack: int = 1,
        spectral_norm: bool = False,
        batch_norm: bool = True,
    ):
        super().__init__()
        self.conditioning = conditioning or ("channels" if num_classes else "none")
        self.num_classes = num_classes if self.conditioning != "none" else 0
        self.channels, self.pack = channels, pack
        label_channels = self.num_classes if self.conditioning == "channels" else 0
        normalised = batch_norm and not spectral_norm
        self.net = nn.Sequential(
            nn.Conv2d(pack * (channels + label_channels), width, 4, stride=2, padding=1),  # 14 x 14, no batch norm
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=not normalised),  # 7 x 7
            nn.BatchNorm2d(2 * width) if normalised else nn.Identity(),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Flatten(),
            nn.Linear(2 * width * 7 * 7, 1),
        )
        self.apply(init_dcgan_weights)
        if self.conditioning == "projection":
            self.embed = nn.Embedding(self.num_classes, 2 * width * 7 * 7)
            nn.init.xavier_uniform_(self.embed.weight)
        if spectral_norm:  # after the initialisation: the parametrisation's weight is computed, not stored
            for module in [*self.net, getattr(self, "embed", None)]:
                if isinstance(module, (nn.Conv2d, nn.Linear, nn.Embedding)):
                    nn.utils.parametrizations.spectral_norm(module)
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.pack > 1:  # M consecutive samples become one input of M x the channels
            x = x.reshape(len(x) // self.pack, self.pack * x.shape[1], *x.shape[2:]).contiguous(
                memory_format=torch.channels_last
            )
            y = y.view(-1, self.pack) if y is not None else None
        if self.conditioning == "none":
            return self.net(x).squeeze(1)
        if self.conditioning == "projection":
            features = self.net[:-1](x)
            embedded = self.embed(y)
            embedded = embedded.sum(1) if self.pack > 1 else embedded  # M labels: the sum of their embeddings
            return self.net[-1](features).squeeze(1) + (embedded * features).sum(1)
        # The first convolution over [x ; y's maps] is conv(x) + conv(y's maps), and the second
        # term depends on the class alone: it is computed once per class and looked up by y. The
        # result is that of stacking the maps as channels, at about half the cost of the layer.
        first, image_channels = self.net[0], x.shape[1]
        weight = first.weight  # read once: with spectral norm each read is a power iteration
        image_part = F.conv2d(x, weight[:, :image_channels], first.bias, first.stride, first.padding)
        labels = y.view(len(x), -1)
        for m in range(labels.shape[1]):
            per_class = self.class_maps(x, weight, m).permute(0, 2, 3, 1)  # (classes, h, w, width): contiguous
            label_part = (
                per_class.flatten(1)
                .index_select(0, labels[:, m])
                .view(len(x), *per_class.shape[1:])
                .permute(0, 3, 1, 2)
            )
            image_part = image_part.add_(label_part)
        return self.net[1:](image_part).squeeze(1)

    def class_maps(self, x: torch.Tensor, weight: torch.Tensor | None = None, m: int = 0) -> torch.Tensor:
        """The first layer's response to each class's one-hot maps alone (those of the m-th
        packed sample), for images shaped like x: (classes, width, h, w)."""
        first = self.net[0]
        weight = first.weight if weight is None else weight
        k, start = self.num_classes, self.pack * self.channels + m * self.num_classes
        one_hot = torch.eye(k, dtype=x.dtype, device=x.device)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        return F.conv2d(
            one_hot.contiguous(memory_format=torch.channels_last),
            weight[:, start : start + k],
            None,
            first.stride,
            first.padding,
        )
