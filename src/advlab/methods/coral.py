"""Deep CORAL (Sun & Saenko, "Deep CORAL: Correlation Alignment for Deep Domain Adaptation",
ECCV workshops 2016): align the second-order statistics of source and target.

loss = ||C_s - C_t||_F^2 / (4 d^2), with C the (unbiased) covariance of a batch's d-dim
activations (paper eq. 1-3). The paper applies it to the last classification layer (fc8);
`--coral-layer features` applies it to G_f's 768 features instead. The paper sets the
weight so that the two losses are about equal at the end of training; here it is the
run's trade-off (1) times lambda(p).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from advlab.config import check, option
from advlab.methods.base import LR_SPACE, TRADE_OFF_RANGE, Batch, Method, StepInfo, joint_features

LAYERS = ("logits", "features")


def covariance(x: torch.Tensor) -> torch.Tensor:
    """Unbiased covariance of the rows of x, (d, d)."""
    centred = x - x.mean(dim=0, keepdim=True)
    return centred.T @ centred / (len(x) - 1)


def coral(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """||C_s - C_t||_F^2 / (4 d^2)."""
    d = source.shape[1]
    return (covariance(source) - covariance(target)).pow(2).sum() / (4 * d * d)


class CORAL(Method):
    name = "coral"
    batch_statistic = "the batches' covariances"
    about = "Deep CORAL: match source and target covariances of the logits or features (Sun & Saenko 2016)"
    options = {
        "coral_layer": (
            str,
            option("logits", "coral: where covariances are matched: logits (the paper's fc8) or features", LAYERS),
        )
    }
    # Sun & Saenko 2016 weigh the CORAL loss so that it ends near the classification loss; the layer is a choice
    search_space = {**LR_SPACE, "trade_off": TRADE_OFF_RANGE, "coral_layer": list(LAYERS)}

    @classmethod
    def check(cls, cfg) -> None:
        check(cfg.coral_layer in LAYERS, f"coral layer must be one of {', '.join(LAYERS)}, got {cfg.coral_layer!r}")

    def loss(self, batch: Batch, info: StepInfo):
        n = len(batch.xs)
        features = joint_features(self.model, batch)
        logits = self.model.classifier(features)
        cls = F.cross_entropy(logits[:n], batch.ys)
        h = logits if self.cfg.coral_layer == "logits" else features
        distance = coral(h[:n], h[n:])
        return cls + self.cfg.trade_off * info.lam * distance, {"cls": cls, "coral": distance}
