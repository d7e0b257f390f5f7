"""CDAN and CDAN+E (Long, Cao, Wang & Jordan, "Conditional Adversarial Domain Adaptation",
NeurIPS 2018).

DANN's discriminator sees the features f; CDAN's sees the multilinear map f (x) g, the
outer product of the features with the classifier's softmax g, flattened (768 x classes
wide here). The discriminator can then align each class's features rather than the
marginal. g is detached: the map conditions the discriminator, it is not a path by which
the domain loss trains the classifier (as in the paper's code and Transfer-Learning-Library).
The reversal layer sits after the map, with the run's lambda(p) ramp (Ganin's, which the
paper also uses).

CDAN+E weights each example by w = 1 + exp(-H(g)), normalised to mean 1 over the batch,
so confident (transferable) examples count more (paper eq. 9; normalisation as in TLlib).

Defaults: discriminator 7680 -> 100 -> 1, Ganin's G_d widened to the map (the paper used
1024 hidden units for ResNet features); trade-off 1 (paper and TLlib).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from advlab.methods.base import LR_SPACE, TRADE_OFF_RANGE, Batch, Method, StepInfo, joint_features
from advlab.nn import grad_reverse
from advlab.nn.heads import DomainDiscriminator, domain_loss

DISCRIMINATOR_HIDDEN = (100,)


def multilinear_map(features: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """(N, d) features and (N, C) class probabilities -> (N, C * d): row n is the outer
    product probs[n] (x) features[n], flattened class-major. The probabilities are detached."""
    return (probs.detach().unsqueeze(2) * features.unsqueeze(1)).flatten(1)


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Per-row Shannon entropy (nats) of class probabilities."""
    return -(probs * torch.log(probs + 1e-5)).sum(dim=1)


def entropy_weights(probs: torch.Tensor) -> torch.Tensor:
    """CDAN+E's example weights 1 + exp(-H(p)), scaled to mean 1; no gradient."""
    w = 1.0 + torch.exp(-entropy(probs.detach()))
    return w / w.sum() * len(w)


class CDAN(Method):
    name = "cdan"
    about = "conditional adversarial: the domain discriminator sees features x class probabilities (Long et al. 2018)"
    entropy_conditioning = False
    search_space = {**LR_SPACE, "trade_off": TRADE_OFF_RANGE}  # Long et al. use 1 (base.py says why this range)

    def build_heads(self):
        return {"discriminator": DomainDiscriminator(self.map_width, DISCRIMINATOR_HIDDEN)}

    @property
    def map_width(self) -> int:
        return self.model.feature_dim * self.model.num_classes

    def loss(self, batch: Batch, info: StepInfo):
        n = len(batch.xs)
        features = joint_features(self.model, batch)
        logits = self.model.classifier(features)
        cls = F.cross_entropy(logits[:n], batch.ys)
        probs = torch.softmax(logits, dim=1)
        domain_logits = self.heads["discriminator"](grad_reverse(multilinear_map(features, probs), info.lam)).squeeze(1)
        weight = entropy_weights(probs) if self.entropy_conditioning else None
        dom = domain_loss(domain_logits, n, weight)
        return cls + self.cfg.trade_off * dom, {"cls": cls, "dom": dom}

    def domain_logits(self, features, logits):
        return self.heads["discriminator"](multilinear_map(features, torch.softmax(logits, dim=1))).squeeze(1)


class CDANE(CDAN):
    name = "cdan_e"
    batch_statistic = "example weights normalised over the batch"
    about = "CDAN with entropy conditioning: confident examples weigh more in the domain loss"
    entropy_conditioning = True
