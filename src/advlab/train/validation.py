"""The label-free validators applied to a run every epoch (advlab.metrics.validators holds
the formulas). Their scores go into metrics.jsonl as `val_<name>`, so `--select NAME` and
`advlab select` can pick a checkpoint without reading a single target label.

What they read is fixed for the whole run: the first `validation_size` (by default 1000) target *training*
images of a seeded permutation (their labels are never touched), the same number of
source training images (DEV's domain classifier), and the source validation split.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from advlab.metrics import validators as v
from advlab.metrics.accuracy import batched
from advlab.metrics.degeneracy import degeneracy

# name -> the metrics.jsonl key it writes; `source_val` is the accuracy evaluate() records
VALIDATORS = {
    "source_val": "source_val_acc",
    "entropy": "val_entropy",
    "im": "val_im",
    "snd": "val_snd",
    "bnm": "val_bnm",
    "dev": "val_dev",
    "devn": "val_devn",
    "class_ami": "val_class_ami",
}
SELECT_CHOICES = ("last", *VALIDATORS)
PCA_DIMENSIONS = 32


@dataclass
class Probe:
    target: torch.Tensor  # uint8 target training images, labels left behind
    source_train: torch.Tensor  # uint8 source training images, for DEV's domain classifier
    source_val: torch.Tensor
    source_val_labels: torch.Tensor


def make_probe(
    target_train: torch.Tensor,
    source_train: torch.Tensor,
    source_val: torch.Tensor,
    source_val_labels: torch.Tensor,
    size: int,
    seed: int,
) -> Probe:
    g = torch.Generator().manual_seed(seed + 7919)
    t = torch.randperm(len(target_train), generator=g)[:size].sort().values
    s = torch.randperm(len(source_train), generator=g)[:size].sort().values
    return Probe(target_train[t], source_train[s], source_val, source_val_labels)


@torch.no_grad()
def score_validators(model: torch.nn.Module, probe: Probe, device: torch.device, seed: int) -> dict[str, float]:
    """Every validator but source_val (evaluate() records that) that the probe can give (SND
    needs two images, ClassAMI more than there are classes), and the seconds they took. A
    model whose features collapsed (all images alike) is a state to score, not to warn
    about: scikit-learn's PCA and k-means warnings are silenced here. (scikit-learn is
    imported here, not with the module: it costs 2 s, and every advlab process imports this
    module for its option list, most of them never scoring a validator.)"""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return _score(model, probe, device, seed)


def _score(model: torch.nn.Module, probe: Probe, device: torch.device, seed: int) -> dict[str, float]:
    from sklearn.decomposition import PCA

    started = time.perf_counter()
    target_features = batched(model.embed, probe.target, device=device)
    target_logits = model.classifier(target_features)
    source_features = batched(model.embed, probe.source_train, device=device)
    # k-means and DEV's domain classifier see the features' leading principal components:
    # on all 768 dimensions they alone would cost a third of an epoch
    joint = torch.cat([source_features, target_features]).numpy()
    pca = PCA(min(PCA_DIMENSIONS, *joint.shape), random_state=seed).fit(joint)
    out = {
        "val_entropy": v.neg_entropy(target_logits),
        "val_im": v.information_maximization(target_logits),
        "val_snd": v.soft_neighborhood_density(target_logits),
        "val_bnm": v.batch_nuclear_norm(target_logits),
        "val_class_ami": v.class_ami(pca.transform(target_features.numpy()), target_logits, seed),
    }
    if len(probe.source_val) > 1:
        val_features = batched(model.embed, probe.source_val, device=device)
        losses = F.cross_entropy(model.classifier(val_features), probe.source_val_labels, reduction="none").numpy()
        weights = v.importance_weights(
            *(pca.transform(f.numpy()) for f in (source_features, val_features, target_features)), seed
        )
        out["val_dev"] = v.dev_score(weights, losses)
        out["val_devn"] = v.dev_score(weights, losses, "max")
    # a score the probe cannot give (too few images: None) is left out of the record, never written as NaN
    out = {key: score for key, score in out.items() if score is not None and math.isfinite(score)}
    out["validation_seconds"] = time.perf_counter() - started
    return out


@torch.no_grad()
def check_degeneracy(
    model: torch.nn.Module,
    probe: Probe | None,
    device: torch.device,
    num_classes: int,
    source_val_acc: float | None,
    best_earlier: float | None,
    start: float | None = None,
) -> str | None:
    """Why this checkpoint looks collapsed (advlab.metrics.degeneracy), or None. It reads the
    probe's target training images (never a label) for the predictions and features; without
    a probe (--validation-size 0) only the source accuracy is checked."""
    if probe is None or len(probe.target) == 0:
        return degeneracy(num_classes, source_val_acc, best_earlier, start=start)
    features = batched(model.embed, probe.target, device=device)
    predicted = model.classifier(features).argmax(dim=1)
    return degeneracy(num_classes, source_val_acc, best_earlier, predicted, features, start)
