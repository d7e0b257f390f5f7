"""AdaMatch (Berthelot, Roelofs, Sohn, Carlini & Kurakin, "AdaMatch: A Unified Approach to
Semi-Supervised Learning and Domain Adaptation", ICLR 2022): FixMatch made for a domain
shift.

Per step, with a weak and a strong view of every source and target image:
- random logit interpolation: the source logits of one pass over all four views (batch
  statistics of both domains) and of a pass over the source views alone (source statistics)
  are mixed, element by element, with weights drawn uniformly in [0, 1];
- the source loss is the cross-entropy of those logits, over both source views;
- distribution alignment: the target's weak-view probabilities are multiplied by the
  source's mean class distribution over the target's, and renormalised;
- a relative threshold: a target image is labelled (the aligned argmax) where its aligned
  confidence is at least tau = 0.9 times the source's mean confidence, so the bar follows
  how sure the model is where it is right;
- the target loss is the masked cross-entropy of the strong view, averaged over the batch,
  weighted by a cosine warm-up from 0 to 1 over the first half of the run.
Defaults from google-research/adamatch (tau 0.9, warm-up over half the run, EMA 0.999 of
the weights evaluated, SGD 0.03 with weight decay 1e-3). The optimiser matters: with advlab's
usual SGD 0.01 and no weight decay a hard source (MNIST-M, 10,000 images, 4 epochs) was not
learnt before the target loss came in, the relative threshold, a share of a near-uniform
source confidence, let every target image through, and the run collapsed onto one class
(benchmarks/small_target.py). Differences: batch means for the class distributions (the
code keeps moving averages), advlab's annealed schedule instead of their cosine decay, one
target image per source image (their uratio is 3), and advlab's weak view (translation,
affine, noise; theirs: shift and mirror, which would turn digits over).
The alignment and the threshold are statistics of the whole batch: one process only. On a
backbone whose images do not meet in a pass (`Backbone.per_image`: ganin), the source-alone
pass would repeat the first pass's source logits, so it is not made (a third less work).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from advlab.config import check, option
from advlab.data.augment import strong, weak
from advlab.methods.base import LR_SPACE, Batch, Method, StepInfo
from advlab.methods.fixmatch import masked_cross_entropy


def align(target_probs: torch.Tensor, source_probs: torch.Tensor) -> torch.Tensor:
    """Distribution alignment: target probabilities times mean(source) / mean(target),
    renormalised per image, so the target's class marginal becomes the source's."""
    scaled = target_probs * (source_probs.mean(dim=0) / target_probs.mean(dim=0).clamp_min(1e-12))
    return scaled / scaled.sum(dim=1, keepdim=True)


def relative_threshold(source_probs: torch.Tensor, tau: float) -> torch.Tensor:
    """tau times the source's mean top probability."""
    return tau * source_probs.max(dim=1).values.mean()


def warm_up(progress: float) -> float:
    """0 -> 1 on a half cosine over the first half of the run, then 1."""
    return 0.5 - 0.5 * math.cos(min(math.pi, 2 * math.pi * progress))


class AdaMatch(Method):
    name = "adamatch"
    about = (
        "FixMatch for a domain shift: logit interpolation, distribution alignment, a threshold relative to the "
        "source's confidence (Berthelot et al. 2022)"
    )
    batch_statistic = "the batch's class distributions and mean source confidence"
    options = {
        "adamatch_tau": (
            float,
            option(0.9, "adamatch: the relative threshold, a share of the source's mean confidence"),
        ),
        "adamatch_weight": (float, option(1.0, "adamatch: weight of the target loss after its warm-up")),
    }
    defaults = {"ema_decay": 0.999, "lr": 0.03, "weight_decay": 1e-3}
    search_space = {**LR_SPACE, "adamatch_tau": ("float", 0.6, 0.99, False)}

    @classmethod
    def check(cls, cfg) -> None:
        if cfg.method != cls.name:
            return
        check(0 <= cfg.adamatch_tau <= 1, f"adamatch tau must be in [0, 1], got {cfg.adamatch_tau}")
        check(
            cfg.adamatch_weight >= 0 and math.isfinite(cfg.adamatch_weight),
            f"adamatch weight must be >= 0 and finite, got {cfg.adamatch_weight}",
        )

    def views(self, batch: Batch, generator: torch.Generator) -> Batch:
        """Source: weak (`xs`) and strong; target: weak (`xt`) and strong; and the logit
        interpolation's weights, one per source view's logit."""
        n = len(batch.xs)
        draws = {
            "source_strong": strong(batch.xs, generator),
            "target_strong": strong(batch.xt, generator),
            "interpolation": torch.rand(2 * n, self.model.num_classes, generator=generator),
        }
        xs, xt = weak(batch.xs, generator), weak(batch.xt, generator)
        return Batch(xs, batch.ys, xt, batch.yt, batch.pt, draws)

    def loss(self, batch: Batch, info: StepInfo):
        m, cfg, d = self.model, self.cfg, batch.draws
        source = torch.cat([batch.xs, d["source_strong"]])
        n = len(source)
        # each domain normalised on its own first: a grey source and a colour target meet as floats
        source_in = m.input(source)
        every = m.classifier(m.features(torch.cat([source_in, m.input(batch.xt), m.input(d["target_strong"])])))
        # the source without the target's company: the same logits again on a backbone whose images do
        # not meet (no batch statistics, dropout or noise), so that pass is skipped there
        source_alone = every[:n] if m.per_image else m.classifier(m.features(source_in))
        mix = d["interpolation"].to(every.device, every.dtype)
        source_logits = mix * every[:n] + (1 - mix) * source_alone
        cls = F.cross_entropy(source_logits, torch.cat([batch.ys, batch.ys]))
        target_weak, target_strong = every[n:].chunk(2)
        with torch.no_grad():
            source_probs = F.softmax(source_logits[: len(batch.xs)], dim=1)
            aligned = align(F.softmax(target_weak, dim=1), source_probs)
            confidence, labels = aligned.max(dim=1)
            mask = (confidence >= relative_threshold(source_probs, cfg.adamatch_tau)).to(aligned.dtype)
        target = masked_cross_entropy(target_strong, labels, mask)
        weight = cfg.adamatch_weight * warm_up(info.progress)
        return cls + weight * target, {"cls": cls, "pseudo": target, "confident": mask.mean()}
