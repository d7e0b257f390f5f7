"""DANN (Ganin & Lempitsky, ICML 2015; Ganin et al., JMLR 2016) and its no-reversal ablation.

Label loss on source plus a domain loss on source and target features. G_d always
minimises the domain loss. What reaches G_f is that gradient times `feature_grad_sign *
lambda(p)`: -1 is the gradient reversal (G_f learns features G_d cannot separate), +1 the
ablation (G_f helps G_d). G_d is Ganin's MNIST domain classifier, 768 -> 100 -> 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from advlab.methods.base import LR_SPACE, Batch, Method, StepInfo, joint_features
from advlab.nn import scale_grad
from advlab.nn.heads import DomainDiscriminator, domain_loss

DISCRIMINATOR_HIDDEN = (100,)


class DANN(Method):
    name = "dann"
    about = "domain-adversarial training through a gradient reversal layer (Ganin & Lempitsky 2015)"
    feature_grad_sign = -1.0
    # DANN's weight is lambda itself: its ceiling, log-uniform up to Ganin & Lempitsky's 1 (below 0.1 a
    # short trial barely adapts)
    search_space = {**LR_SPACE, "lambda_max": ("float", 0.1, 1.0, True)}

    def build_heads(self):
        return {"discriminator": DomainDiscriminator(self.model.feature_dim, DISCRIMINATOR_HIDDEN)}

    def loss(self, batch: Batch, info: StepInfo) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        n = len(batch.xs)
        features = joint_features(self.model, batch)
        cls = F.cross_entropy(self.model.classifier(features[:n]), batch.ys)
        domain_logits = self.heads["discriminator"](scale_grad(features, self.feature_grad_sign * info.lam)).squeeze(1)
        dom = domain_loss(domain_logits, n)
        return cls + dom, {"cls": cls, "dom": dom}

    def domain_logits(self, features: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        return self.heads["discriminator"](features).squeeze(1)


class DANNNoReversal(DANN):
    name = "dann_no_grl"
    about = "ablation: DANN without the reversal (G_f helps the domain classifier)"
    feature_grad_sign = +1.0
