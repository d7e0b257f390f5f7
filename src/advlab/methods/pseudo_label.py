"""`pseudo_label`: self-training from a finished run (--init), in rounds.

Cross-entropy on source labels plus on the pseudo-labels of selected target images. The
selection is class-balanced: a plain confidence threshold lets the classes the model already
finds easy fill the pseudo-labelled set. Here every predicted class contributes the same share of its own
images (its most confident ones), and only those above the threshold; the share grows
with the round, so later rounds trust the improved model with more images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from advlab.backbones import Backbone
from advlab.config import check, option
from advlab.errors import AdvlabError
from advlab.methods.base import LR_SPACE, Batch, Method, StepInfo, joint_features
from advlab.metrics.accuracy import batched


@dataclass
class Selection:
    indices: torch.Tensor  # into the target training images
    labels: torch.Tensor  # pseudo-labels: the model's predictions for them

    def __len__(self) -> int:
        return len(self.indices)


def select_pseudo_labels(probs: torch.Tensor, threshold: float, share: float) -> Selection:
    """Per predicted class c: of the images predicted c, the ceil(share * count) most confident,
    keeping those whose confidence is >= threshold. Indices come back sorted."""
    confidence, predicted = probs.max(dim=1)
    chosen = []
    for c in predicted.unique():
        members = (predicted == c).nonzero().squeeze(1)
        top = members[confidence[members].argsort(descending=True)[: math.ceil(share * len(members))]]
        chosen.append(top[confidence[top] >= threshold])
    indices = torch.cat(chosen).sort().values if chosen else torch.zeros(0, dtype=torch.long)
    return Selection(indices, predicted[indices])


def round_share(round_index: int, rounds: int) -> float:
    """Round r (0-based) of K keeps up to (r + 1) / K of each predicted class."""
    return (round_index + 1) / rounds


@torch.no_grad()
def pseudo_label(
    model: Backbone, images: torch.Tensor, threshold: float, share: float, device: torch.device
) -> Selection:
    model.eval()
    probs = torch.softmax(batched(model, images, device=device), dim=1)
    model.train()
    return select_pseudo_labels(probs, threshold, share)


class PseudoLabel(Method):
    """Relabels the target images `rounds` times, spread evenly over the epochs; round r of K
    keeps up to (r + 1)/K of each predicted class, those at least `pl_threshold` confident.
    No target label is read: the held-back labels only score the pseudo-labels in the record."""

    name = "pseudo_label"
    about = "self-training on class-balanced confident pseudo-labels, from a finished run (--init)"
    needs_init = True
    options = {
        "rounds": (int, option(3, "pseudo_label: relabelling rounds, spread evenly over the epochs")),
        "pl_threshold": (float, option(0.9, "pseudo_label: least confidence for a target image to be pseudo-labelled")),
    }
    # confidence thresholds of self-training range from 0.5 to 0.99 (0.9, FixMatch's 0.95); rounds must divide
    # the epochs, so they are not searched
    search_space = {**LR_SPACE, "pl_threshold": ("float", 0.5, 0.99, False)}

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        self.selection: Selection | None = None
        self.epochs_per_round = cfg.epochs // cfg.rounds

    @classmethod
    def check(cls, cfg) -> None:
        check(cfg.rounds > 0, f"rounds must be > 0, got {cfg.rounds}")
        check(0 <= cfg.pl_threshold < 1, f"pl threshold must be in [0, 1), got {cfg.pl_threshold}")
        if cfg.method == cls.name:
            check(cfg.epochs % cfg.rounds == 0, f"rounds ({cfg.rounds}) must divide epochs ({cfg.epochs})")

    def begin_epoch(self, epoch, target_images, device) -> None:
        if epoch % self.epochs_per_round == 0 or self.selection is None:
            share = round_share(epoch // self.epochs_per_round, self.cfg.rounds)
            self.selection = pseudo_label(self.model, target_images, self.cfg.pl_threshold, share, device)
            if len(self.selection) < self.cfg.batch_size:
                raise AdvlabError(
                    f"only {len(self.selection)} target images reach confidence {self.cfg.pl_threshold}; lower "
                    "--pl-threshold"
                )

    def target_pool(self):
        return self.selection.indices, self.selection.labels

    def loss(self, batch: Batch, info: StepInfo):
        n = len(batch.xs)
        logits = self.model.classifier(joint_features(self.model, batch))
        cls = F.cross_entropy(logits[:n], batch.ys)
        pseudo = F.cross_entropy(logits[n:], batch.pt)
        return cls + pseudo, {"cls": cls, "pseudo": pseudo}

    def epoch_record(self, epoch, audit):
        selection = self.selection
        return {
            "pl_round": epoch // self.epochs_per_round + 1,
            "pl_selected": len(selection),
            "pl_selected_share": len(selection) / audit.size,
            "pl_label_acc": audit(selection.indices, selection.labels) if len(selection) else None,
        }

    def console(self, record):
        share, right = record["pl_selected_share"], record["pl_label_acc"]
        return f"round {record['pl_round']}: {share:.0%} pseudo-labelled, {right:.3f} correct"

    def summary(self, history):
        rounds = [
            {k: h[k] for k in ("pl_round", "pl_selected_share", "pl_label_acc", "source_acc", "target_acc")}
            for h in history
            if "pl_round" in h and h["epoch"] % self.epochs_per_round == 0
        ]
        return {"pseudo_label_rounds": rounds or None}

    def state_dict(self):
        return (
            {"pseudo_labels": {"indices": self.selection.indices, "labels": self.selection.labels}}
            if self.selection
            else {}
        )

    def load_state_dict(self, state):
        if "pseudo_labels" in state:
            self.selection = Selection(state["pseudo_labels"]["indices"], state["pseudo_labels"]["labels"])
