"""Training methods as loss terms over one shared loop.

A method says which batches it needs and turns (model, batch, lambda) into a loss and
its named parts. The methods of the DANN study differ only here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from advlab.models.dann import DANNNet
from advlab.nn import scale_grad


@dataclass
class Batch:
    xs: torch.Tensor | None  # source images, uint8
    ys: torch.Tensor | None  # source labels
    xt: torch.Tensor | None  # target images, uint8
    yt: torch.Tensor | None  # target labels: only `target_only` may read them
    pt: torch.Tensor | None = None  # pseudo-labels of the target images (`pseudo_label`)


def joint_features(model: DANNNet, batch: Batch) -> torch.Tensor:
    """G_f's features of the source batch followed by the target batch. Each domain is
    normalised first: a grey source and a colour target meet as 3-channel floats."""
    return model.features(torch.cat([model.input(batch.xs), model.input(batch.xt)]))


@dataclass(frozen=True)
class Supervised:
    """Cross-entropy on one domain's labels: `source_only` (the naive model) or `target_only`
    (trained on target labels; the upper bound, never an adaptation result)."""

    name: str
    domain: str  # "source" or "target"
    uses_source: bool
    uses_target: bool
    trains_domain_classifier: bool = False
    uses_pseudo_labels: bool = False

    @property
    def uses_target_labels(self) -> bool:
        return self.domain == "target"

    def loss(self, model: DANNNet, batch: Batch, lam: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, y = (batch.xs, batch.ys) if self.domain == "source" else (batch.xt, batch.yt)
        cls = F.cross_entropy(model(x), y)
        return cls, {"cls": cls}


@dataclass(frozen=True)
class DomainAdversarial:
    """Label loss on source plus a domain loss on source and target features.

    G_d always minimises the domain loss. What reaches G_f is that gradient times
    `feature_grad_sign * lambda`: -1 is DANN's gradient reversal (G_f learns features
    the domain classifier cannot separate), +1 the no-reversal ablation (G_f helps it).
    """

    name: str
    feature_grad_sign: float
    uses_source: bool = True
    uses_target: bool = True
    trains_domain_classifier: bool = True
    uses_target_labels: bool = False
    uses_pseudo_labels: bool = False

    def loss(self, model: DANNNet, batch: Batch, lam: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        n = len(batch.xs)
        features = joint_features(model, batch)
        cls = F.cross_entropy(model.classifier(features[:n]), batch.ys)
        domain_logits = model.discriminator(scale_grad(features, self.feature_grad_sign * lam)).squeeze(1)
        is_target = torch.cat([torch.zeros(n), torch.ones(len(batch.xt))]).to(domain_logits.device)
        dom = F.binary_cross_entropy_with_logits(domain_logits, is_target)
        return cls + dom, {"cls": cls, "dom": dom}


@dataclass(frozen=True)
class SelfTraining:
    """Cross-entropy on source labels plus on the pseudo-labels of the selected target images.

    The loop chooses the target images and their pseudo-labels from the model's own
    confident predictions (advlab.train.pseudo_labels); no target label is read.
    """

    name: str
    uses_source: bool = True
    uses_target: bool = True
    trains_domain_classifier: bool = False
    uses_target_labels: bool = False
    uses_pseudo_labels: bool = True

    def loss(self, model: DANNNet, batch: Batch, lam: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        n = len(batch.xs)
        logits = model.classifier(joint_features(model, batch))
        cls = F.cross_entropy(logits[:n], batch.ys)
        pseudo = F.cross_entropy(logits[n:], batch.pt)
        return cls + pseudo, {"cls": cls, "pseudo": pseudo}


METHODS = {
    "source_only": Supervised("source_only", "source", uses_source=True, uses_target=False),
    "target_only": Supervised("target_only", "target", uses_source=False, uses_target=True),
    "dann": DomainAdversarial("dann", feature_grad_sign=-1.0),
    "dann_no_grl": DomainAdversarial("dann_no_grl", feature_grad_sign=+1.0),
    "pseudo_label": SelfTraining("pseudo_label"),
}
