"""MCC (Jin, Wang, Long & Wang, "Minimum Class Confusion for Versatile Domain Adaptation",
ECCV 2020): make the target predictions of a batch confuse classes less.

With temperature-scaled target probabilities P (B x C) and example weights W (diagonal,
1 + exp(-H(p_i)), scaled to sum to B), the class confusion is C = P^T W P, each row
normalised to sum 1; the loss is the mean over classes of the off-diagonal mass,
(sum(C) - trace(C)) / C (paper eq. 2-7). Temperature 2.5 and trade-off 1 (paper and
TLlib's digits defaults), times lambda(p).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from advlab.config import check, option
from advlab.methods.base import LR_SPACE, TRADE_OFF_RANGE, Batch, Method, StepInfo, joint_features
from advlab.methods.cdan import entropy


def class_confusion(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """MCC's loss on a batch of target logits (0 when every prediction is one-hot and
    the batch never mixes classes; larger as predictions share mass between classes)."""
    b, c = logits.shape
    probs = torch.softmax(logits / temperature, dim=1)
    w = 1.0 + torch.exp(-entropy(probs).detach())
    w = (b * w / w.sum()).unsqueeze(1)
    confusion = (probs * w).T @ probs
    confusion = confusion / confusion.sum(dim=1, keepdim=True)
    return (confusion.sum() - confusion.trace()) / c


class MCC(Method):
    name = "mcc"
    batch_statistic = "the batch's class confusion"
    about = "minimum class confusion on target predictions (Jin et al. 2020)"
    options = {"mcc_temperature": (float, option(2.5, "mcc: temperature of the target softmax"))}
    # Jin et al. 2020 use T = 2.5 and report MCC steady over roughly [1, 5]
    search_space = {**LR_SPACE, "trade_off": TRADE_OFF_RANGE, "mcc_temperature": ("float", 1.0, 5.0, False)}

    @classmethod
    def check(cls, cfg) -> None:
        check(
            cfg.mcc_temperature > 0 and math.isfinite(cfg.mcc_temperature),
            f"mcc temperature must be > 0 and finite, got {cfg.mcc_temperature}",
        )

    def loss(self, batch: Batch, info: StepInfo):
        n = len(batch.xs)
        logits = self.model.classifier(joint_features(self.model, batch))
        cls = F.cross_entropy(logits[:n], batch.ys)
        mcc = class_confusion(logits[n:], self.cfg.mcc_temperature)
        return cls + self.cfg.trade_off * info.lam * mcc, {"cls": cls, "mcc": mcc}
