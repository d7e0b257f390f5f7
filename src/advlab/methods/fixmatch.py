"""FixMatch for domain adaptation (Sohn et al., "FixMatch: Simplifying Semi-Supervised
Learning with Consistency and Confidence", NeurIPS 2020; the DA baseline of Berthelot et
al. 2022): the model's own confident predictions on a weak view of each target image are
the labels of a strong view of it.

Per step: source cross-entropy on a weak view; on the target, the class the model predicts
for the weak view (no gradient) becomes a hard label for the strong view (RandAugment-like,
advlab.data.augment.strong) where the predicted probability is at least 0.95; the masked
cross-entropy, averaged over the whole target batch, is weighted 1. Defaults from the paper
(tau 0.95, lambda_u 1), an EMA of the weights evaluated (0.999, as its code) and the optimiser
of the DA baseline in google-research/adamatch (fixmatch_da.py: SGD 0.03, weight decay 1e-3).
With advlab's usual SGD 0.01 and no weight decay the source task was learnt so slowly on a
hard source (MNIST-M, 10,000 images, 4 epochs) that the run ended 0.11 below source_only
(benchmarks/small_target.py). Differences: advlab's annealed schedule instead of the cosine
decay, and one target image per source image (the paper's mu is 7).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from advlab.config import check, option
from advlab.data.augment import strong, weak
from advlab.methods.base import LR_SPACE, Batch, Method, StepInfo


def masked_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of `logits` against hard `labels`, kept where `mask` is 1, averaged over
    the whole batch (an unconfident image counts as 0, as in FixMatch)."""
    return (F.cross_entropy(logits, labels, reduction="none") * mask).mean()


class FixMatch(Method):
    name = "fixmatch"
    about = "confident predictions on a weak view of each target image label its strong view (Sohn et al. 2020)"
    options = {
        "fixmatch_threshold": (float, option(0.95, "fixmatch: confidence above which a weak view's class is a label")),
        "fixmatch_weight": (float, option(1.0, "fixmatch: weight of the target's pseudo-labelled loss")),
    }
    defaults = {"ema_decay": 0.999, "lr": 0.03, "weight_decay": 1e-3}
    search_space = {**LR_SPACE, "fixmatch_threshold": ("float", 0.8, 0.99, False)}

    @classmethod
    def check(cls, cfg) -> None:
        if cfg.method != cls.name:
            return
        check(0 <= cfg.fixmatch_threshold < 1, f"fixmatch threshold must be in [0, 1), got {cfg.fixmatch_threshold}")
        check(
            cfg.fixmatch_weight >= 0 and math.isfinite(cfg.fixmatch_weight),
            f"fixmatch weight must be >= 0 and finite, got {cfg.fixmatch_weight}",
        )

    def views(self, batch: Batch, generator: torch.Generator) -> Batch:
        """A weak view of each source image; a weak (in `xt`) and a strong view of each target image."""
        xs, xt = weak(batch.xs, generator), weak(batch.xt, generator)
        return Batch(xs, batch.ys, xt, batch.yt, batch.pt, {"target_strong": strong(batch.xt, generator)})

    def loss(self, batch: Batch, info: StepInfo):
        m = self.model
        cls = F.cross_entropy(m(batch.xs), batch.ys)
        with torch.no_grad():
            probs = F.softmax(m(batch.xt), dim=1)
        confidence, labels = probs.max(dim=1)
        mask = (confidence >= self.cfg.fixmatch_threshold).to(probs.dtype)
        target = masked_cross_entropy(m(batch.draws["target_strong"]), labels, mask)
        return cls + self.cfg.fixmatch_weight * target, {"cls": cls, "pseudo": target, "confident": mask.mean()}
