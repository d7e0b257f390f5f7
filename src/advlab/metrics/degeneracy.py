"""Is a checkpoint degenerate? Three signs that need no target label.

Domain adaptation is used exactly where there are no target labels to notice a collapse,
and a collapsed model can look perfect to a label-free validator (one cluster agrees with
one predicted class: ClassAMI 1.0). So every epoch a run checks itself for:

- **source task lost**: source validation accuracy not clearly above chance (at most twice
  chance), or fallen far below the best the same run reached (it kept less than half of
  that epoch's margin over chance), or far below the same way what the trained weights an
  --init run starts from had;
- **predictions collapsed**: the target images' predicted classes cover only one or a few
  classes (their effective number, exp of the entropy of the predicted-class histogram, at
  most a quarter of the classes or 2, whichever is more, but never more than half of them:
  one class of two, two of four, 2.5 of ten);
- **features collapsed**: G_f's features of the validation images have next to no spread
  (their total variance under 1e-6 of their mean squared norm).

Each returns a reason (a short sentence with the numbers) or None; `degeneracy` joins them.
The thresholds are wide on purpose: they flag runs that have stopped doing the task, not
runs that are merely worse.
"""

from __future__ import annotations

import math

import torch

CHANCE_FACTOR = 2.0  # source accuracy at most this many times chance: not clearly above it
KEPT_MARGIN = 0.5  # of the best epoch's margin over chance, at least this much must remain
FEW_CLASSES_SHARE = 0.25  # effective predicted classes at most this share of the classes...
FEW_CLASSES_MIN = 2.0  # ...or at most this many, whichever is more...
FEW_CLASSES_CAP = 0.5  # ...but never more than this share
FEATURE_SPREAD = 1e-6  # total feature variance over mean squared norm


def source_task_lost(
    source_val_acc: float | None, best_earlier: float | None, num_classes: int, start: float | None = None
) -> str | None:
    """Source validation accuracy near chance, or far below this run's best so far, or below
    what the trained weights it started from had (`start`: an --init run's baseline)."""
    if source_val_acc is None or not math.isfinite(source_val_acc):
        return None
    chance = 1.0 / num_classes
    if source_val_acc <= CHANCE_FACTOR * chance:
        return f"source validation accuracy {source_val_acc:.3f} is not clearly above chance ({chance:.3f})"
    for baseline, when in ((start, "in the weights it started from"), (best_earlier, "earlier in the run")):
        if baseline is not None and baseline > chance and source_val_acc < chance + KEPT_MARGIN * (baseline - chance):
            return f"source validation accuracy fell to {source_val_acc:.3f} from {baseline:.3f} {when}"
    return None


def effective_classes(predicted: torch.Tensor, num_classes: int) -> float:
    """exp(entropy) of the histogram of predicted classes: 1 for one class, C for all alike."""
    counts = torch.bincount(predicted.flatten().long(), minlength=num_classes).double()
    share = counts / counts.sum().clamp_min(1)
    entropy = -(share[share > 0] * share[share > 0].log()).sum()
    return float(entropy.exp())


def predictions_collapsed(predicted: torch.Tensor, num_classes: int) -> str | None:
    """The target predictions fall into one or a few classes."""
    if predicted.numel() == 0:
        return None
    effective = effective_classes(predicted, num_classes)
    few = min(max(FEW_CLASSES_MIN, FEW_CLASSES_SHARE * num_classes), FEW_CLASSES_CAP * num_classes)
    if effective <= few:
        top = torch.bincount(predicted.flatten().long(), minlength=num_classes).max().item() / predicted.numel()
        return (
            f"target predictions collapsed onto {effective:.1f} effective classes of {num_classes} "
            f"({top:.0%} in one class)"
        )
    return None


def features_collapsed(features: torch.Tensor) -> str | None:
    """All images get (nearly) the same features: nothing left to classify by."""
    if features.shape[0] < 2:
        return None
    features = features.double().flatten(1)
    variance = features.var(dim=0, unbiased=False).sum()
    scale = features.pow(2).sum(dim=1).mean()
    spread = float(variance / scale) if scale > 0 else 0.0
    if spread < FEATURE_SPREAD:
        return f"features collapsed (spread {spread:.1e} of their size)"
    return None


def degeneracy(
    num_classes: int,
    source_val_acc: float | None = None,
    best_earlier: float | None = None,
    target_predicted: torch.Tensor | None = None,
    features: torch.Tensor | None = None,
    start: float | None = None,
) -> str | None:
    """Every sign that holds, joined by '; ', or None for a checkpoint that looks healthy."""
    reasons = [
        source_task_lost(source_val_acc, best_earlier, num_classes, start),
        predictions_collapsed(target_predicted, num_classes) if target_predicted is not None else None,
        features_collapsed(features) if features is not None else None,
    ]
    said = [r for r in reasons if r]
    return "; ".join(said) or None
