"""The backbone protocol: what every adaptation method, analysis and export may rely on.

A backbone is the network a method trains, in three stages:

- `input`: uint8 images (N, 1|3, H, W) -> normalised floats of the backbone's channels
  (advlab.nn.InputNorm). Preprocessing lives inside the model, so a checkpoint carries it;
- `features`: those floats -> one vector per image, `feature_dim` wide (G_f);
- `classifier`: features -> class logits (G_y), built by `make_classifier()`, which a
  method calls again for a second head of the same architecture (MCD, MDD).

Images reach it at `input_size` x `input_size` (the data layer brings each domain there:
--geometry). Methods attach their own heads to the features, so every backbone that keeps
this protocol runs with every method.

A backbone's own options are declared like a method's: `options`, name -> (type,
advlab.config.option(...)), each name starting with the backbone's; they become --flags and
config.yaml fields, and the constructor takes them as keywords. `constructor_args()` is what
a checkpoint records to rebuild the network without the run's config.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from advlab.config import check
from advlab.nn import InputNorm


def check_regularisers(cfg: Any, prefix: str) -> None:
    """A backbone's `<prefix>_dropout` in [0, 1) and `<prefix>_noise` >= 0 (finite)."""
    dropout, noise = getattr(cfg, f"{prefix}_dropout"), getattr(cfg, f"{prefix}_noise")
    said = prefix.replace("_", " ")
    check(0 <= dropout < 1, f"{said} dropout must be in [0, 1), got {dropout}")
    check(0 <= noise < float("inf"), f"{said} noise must be >= 0 and finite, got {noise}")


class Backbone(nn.Module):
    name: ClassVar[str]
    about: ClassVar[str]  # the --help line
    input_size: ClassVar[int]  # images are square, this wide
    input_channels: ClassVar[int]  # 1 (grey) or 3 (colour); the input stage converts the others
    options: ClassVar[dict[str, tuple[type, Any]]] = {}
    # a network whose output depends on the rest of the batch (batch norm in training mode):
    # split across processes each would normalise by its own share, another network, so such
    # a backbone trains in one process (the same rule as a method's batch_statistic)
    batch_statistic: ClassVar[str | None] = None
    # in training mode, an image's output depends on that image alone: no batch statistics, no
    # dropout, no noise. A method may then reuse one forward pass where its paper makes two of
    # the same images in other company (AdaMatch's source-only pass). False unless declared (a
    # subclass that adds any of those must set it False again).
    per_image: ClassVar[bool] = False

    features: nn.Module
    classifier: nn.Module
    feature_dim: int

    def __init__(self, num_classes: int = 10, normalization: str = "global", **options: Any):
        super().__init__()
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise TypeError(f"backbone {self.name} has no option {', '.join(unknown)}")
        self.num_classes, self.normalization = num_classes, normalization
        self.settings = {name: options.get(name, field.default) for name, (_, field) in self.options.items()}
        self.input = InputNorm(normalization, self.input_channels)

    @classmethod
    def check(cls, cfg: Any) -> None:
        """Validate this backbone's options (raise advlab.errors.ConfigError via config.check)."""

    @classmethod
    def from_config(cls, cfg: Any, num_classes: int) -> Backbone:
        """The backbone a run's config asks for."""
        return cls(num_classes, cfg.normalization, **{name: getattr(cfg, name) for name in cls.options})

    def make_classifier(self) -> nn.Module:
        """A fresh classifier head: feature_dim -> num_classes."""
        raise NotImplementedError

    def constructor_args(self) -> dict[str, Any]:
        """What a checkpoint records so that a run directory can rebuild this model."""
        return {"num_classes": self.num_classes, "normalization": self.normalization, **self.settings}

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images -> features."""
        return self.features(self.input(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self.classifier(self.embed(images))
