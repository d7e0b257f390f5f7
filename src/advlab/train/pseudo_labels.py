"""Class-balanced selection of confident target predictions for self-training.

A plain confidence threshold lets the classes the model already finds easy fill the
pseudo-labelled set. Here every predicted class contributes the same share of its own
images (its most confident ones), and only those above the threshold; the share grows
with the round, so later rounds trust the improved model with more images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from advlab.metrics.accuracy import batched
from advlab.models.dann import DANNNet


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
def pseudo_label(model: DANNNet, images: torch.Tensor, threshold: float, share: float, device: torch.device) -> Selection:
    model.eval()
    probs = torch.softmax(batched(model, images, device=device), dim=1)
    model.train()
    return select_pseudo_labels(probs, threshold, share)
