"""MCD (Saito, Watanabe, Ushiku & Harada, "Maximum Classifier Discrepancy for Unsupervised
Domain Adaptation", CVPR 2018): two classifiers F1, F2 on one feature extractor G.

Each batch takes three steps (paper section 3.2):
  A. G, F1 and F2 minimise the cross-entropy of both classifiers on source;
  B. with G fixed, F1 and F2 stay right on source while maximising their discrepancy on
     target, d = mean |softmax(F1) - softmax(F2)|;
  C. with F1 and F2 fixed, G minimises d on target, `num_k` times (4 for digits, the paper's
     and TLlib's default).
F1 is the backbone's classifier (G_y) and the one evaluated; F2 has its architecture
(`make_classifier`). The discrepancy's weight is the
run's trade-off (1, the paper's) times lambda(p). Both optimizers are the run's optimizer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from advlab.config import check, option
from advlab.methods.base import LR_SPACE, TRADE_OFF_RANGE, Batch, Method, StepInfo, joint_features, update


def classifier_discrepancy(logits1: torch.Tensor, logits2: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of the two softmax outputs."""
    return (torch.softmax(logits1, dim=1) - torch.softmax(logits2, dim=1)).abs().mean()


class MCD(Method):
    name = "mcd"
    about = (
        "maximum classifier discrepancy: two classifiers disagree on target, G_f makes them agree (Saito et al. 2018)"
    )
    options = {"mcd_num_k": (int, option(4, "mcd: generator updates per batch in step C"))}
    # Saito et al. 2018 use num_k = 4 and compare 1 to 4; up to 8 shows whether more helps
    search_space = {**LR_SPACE, "trade_off": TRADE_OFF_RANGE, "mcd_num_k": ("int", 1, 8, False)}

    @classmethod
    def check(cls, cfg) -> None:
        check(cfg.mcd_num_k >= 1, f"mcd num k must be >= 1, got {cfg.mcd_num_k}")

    def build_heads(self):
        return {"classifier2": self.model.make_classifier()}

    def optimizers(self, make):
        return {
            "features": make(self.model.features.parameters()),
            "classifiers": make([*self.model.classifier.parameters(), *self.heads["classifier2"].parameters()]),
        }

    def train_step(self, batch: Batch, info: StepInfo, optimizers):
        n = len(batch.xs)
        f1, f2 = self.model.classifier, self.heads["classifier2"]
        weight = self.cfg.trade_off * info.lam
        g_opt, f_opt = optimizers["features"], optimizers["classifiers"]

        # A. everything learns the source labels
        source_features = self.model.embed(batch.xs)
        cls = F.cross_entropy(f1(source_features), batch.ys)
        update(cls + F.cross_entropy(f2(source_features), batch.ys), g_opt, f_opt)

        # B. the classifiers disagree on target as much as they can while right on source
        with torch.no_grad():
            features = joint_features(self.model, batch)
        y1, y2 = f1(features), f2(features)
        discrepancy = classifier_discrepancy(y1[n:], y2[n:])
        update(F.cross_entropy(y1[:n], batch.ys) + F.cross_entropy(y2[:n], batch.ys) - weight * discrepancy, f_opt)

        # C. G_f moves target features to where the classifiers agree
        f1.requires_grad_(False)
        f2.requires_grad_(False)
        try:
            for _ in range(self.cfg.mcd_num_k):
                target_features = self.model.embed(batch.xt)
                update(weight * classifier_discrepancy(f1(target_features), f2(target_features)), g_opt)
        finally:
            f1.requires_grad_(True)
            f2.requires_grad_(True)
        return {"cls": cls, "discrepancy": discrepancy}
