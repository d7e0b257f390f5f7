"""MDD (Zhang, Liu, Long & Jordan, "Bridging Theory and Algorithm for Domain Adaptation",
ICML 2019): margin disparity discrepancy with an adversarial auxiliary classifier.

An auxiliary classifier f' (the backbone's classifier architecture, `make_classifier`) sees
the features through a reversal layer. With h the main classifier's predicted class,

  D = -gamma * CE(f'(f_s), h_s) + log(1 - softmax(f'(f_t))[h_t])     (batch means)

f' maximises D (agrees with f on source, disagrees on target); through the reversal, G_f
minimises it. The loss is CE_s - trade_off * D (as in TLlib's example). Margin gamma = 4 and
trade-off 1 (TLlib's defaults; the paper tries 2-4); the reversal coefficient is 0.1 times
lambda(p) (TLlib's warm start rises to 0.1), `--mdd-reversal` sets the 0.1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from advlab.config import check, option
from advlab.methods.base import LR_SPACE, TRADE_OFF_RANGE, Batch, Method, StepInfo, joint_features
from advlab.nn import grad_reverse


def disparity_discrepancy(
    y_s: torch.Tensor, y_s_adv: torch.Tensor, y_t: torch.Tensor, y_t_adv: torch.Tensor, margin: float
) -> torch.Tensor:
    """MDD's D_gamma for logits of the main (y) and the adversarial (y_adv) classifier."""
    source = F.cross_entropy(y_s_adv, y_s.argmax(dim=1))
    p_t = torch.softmax(y_t_adv, dim=1).gather(1, y_t.argmax(dim=1, keepdim=True)).squeeze(1)
    target = torch.log((1.0 - p_t + 1e-6).clamp(max=1.0)).mean()
    return -margin * source + target


class MDD(Method):
    name = "mdd"
    about = "margin disparity discrepancy with an adversarial auxiliary classifier (Zhang et al. 2019)"
    options = {
        "mdd_margin": (float, option(4.0, "mdd: margin gamma")),
        "mdd_reversal": (float, option(0.1, "mdd: the reversal coefficient's scale (times lambda(p))")),
    }
    # Zhang et al. 2019 (and TLlib) use margin 4 and study margins of a few units: [1, 8] brackets them
    search_space = {**LR_SPACE, "trade_off": TRADE_OFF_RANGE, "mdd_margin": ("float", 1.0, 8.0, False)}

    @classmethod
    def check(cls, cfg) -> None:
        check(
            cfg.mdd_margin > 0 and math.isfinite(cfg.mdd_margin),
            f"mdd margin must be > 0 and finite, got {cfg.mdd_margin}",
        )
        check(
            cfg.mdd_reversal >= 0 and math.isfinite(cfg.mdd_reversal),
            f"mdd reversal must be >= 0 and finite, got {cfg.mdd_reversal}",
        )

    def build_heads(self):
        return {"adversarial": self.model.make_classifier()}

    def loss(self, batch: Batch, info: StepInfo):
        n = len(batch.xs)
        features = joint_features(self.model, batch)
        logits = self.model.classifier(features)
        adv = self.heads["adversarial"](grad_reverse(features, self.cfg.mdd_reversal * info.lam))
        cls = F.cross_entropy(logits[:n], batch.ys)
        discrepancy = disparity_discrepancy(logits[:n], adv[:n], logits[n:], adv[n:], self.cfg.mdd_margin)
        return cls - self.cfg.trade_off * discrepancy, {"cls": cls, "mdd": discrepancy}
