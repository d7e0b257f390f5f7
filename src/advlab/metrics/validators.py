"""Label-free validators for unsupervised domain adaptation: one score per model, higher is
better, computed without any target label. Pure functions: arrays in, one float out, or
None where the input cannot give a score (too few images): a record keeps no NaN, and no
checkpoint is picked on one.

They answer "which checkpoint or setting should I keep?" when target labels do not exist.
Sources and conventions follow the papers and pytorch-adapt's validators (Musgrave,
Belongie & Lim 2022, "Three New Validators and a Large-Scale Benchmark Ranking for UDA").
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

EPS = 1e-12


def _probs(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(torch.as_tensor(logits, dtype=torch.float64), dim=1)


def _entropies(probs: torch.Tensor) -> torch.Tensor:
    return -(probs * torch.log(probs + EPS)).sum(dim=1)


def source_accuracy(source_val_logits: torch.Tensor, source_val_labels: torch.Tensor) -> float:
    """Accuracy on a held-out *source* split (`--select source_val`): the classic baseline,
    blind to the domain shift."""
    return (torch.as_tensor(source_val_logits).argmax(1) == torch.as_tensor(source_val_labels)).double().mean().item()


def neg_entropy(target_logits: torch.Tensor) -> float:
    """Minus the mean prediction entropy on target (Morerio, Cavazza & Murino, ICLR 2018,
    "Minimal-entropy correlation alignment"): confident target predictions score high."""
    return -_entropies(_probs(target_logits)).mean().item()


def information_maximization(target_logits: torch.Tensor) -> float:
    """IM = diversity - entropy = H(mean prediction) - mean H(prediction): confident on each
    image and spread over the classes (Musgrave 2022's IM validator)."""
    p = _probs(target_logits)
    return (_entropies(p.mean(dim=0, keepdim=True))[0] - _entropies(p).mean()).item()


def soft_neighborhood_density(target_logits: torch.Tensor, temperature: float = 0.05) -> float | None:
    """SND (Saito et al., ICCV 2021): the mean entropy of each target image's softmax-weighted
    similarity (cosine, itself left out, temperature 0.05) to the others, on the predicted
    probabilities (pytorch-adapt's default layer). High when neighbourhoods are dense.

    None for fewer than two images (an image alone has no neighbour). A collapsed model, all
    images predicted as one class, scores 0, SND's minimum: its near-identical predictions
    would otherwise make every neighbourhood uniform, the highest entropy of all."""
    if len(target_logits) < 2:
        return None
    if _one_class(target_logits):
        return 0.0
    p = F.normalize(_probs(target_logits), dim=1)
    similarity = p @ p.T
    similarity.fill_diagonal_(-math.inf)
    return _entropies(torch.softmax(similarity / temperature, dim=1)).mean().item()


def batch_nuclear_norm(target_logits: torch.Tensor) -> float:
    """BNM as a validator (Cui et al., CVPR 2020; Musgrave 2022): the nuclear norm of the
    target probability matrix over its number of rows; large when predictions are both
    confident and diverse."""
    p = _probs(target_logits)
    return (torch.linalg.matrix_norm(p, ord="nuc") / len(p)).item()


def importance_weights(
    source_train_features: np.ndarray, source_val_features: np.ndarray, target_features: np.ndarray, seed: int = 0
) -> np.ndarray:
    """Density ratios p_t(x)/p_s(x) of the source validation images, from a logistic
    regression telling source training features from target features (DEV's weights;
    P(t|x)/P(s|x) times n_s/n_t)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = np.concatenate([source_train_features, target_features])
    y = np.r_[np.zeros(len(source_train_features)), np.ones(len(target_features))]
    scaler = StandardScaler().fit(x)
    classifier = LogisticRegression(max_iter=1000, random_state=seed).fit(scaler.transform(x), y)
    p_target = classifier.predict_proba(scaler.transform(source_val_features))[:, 1].clip(1e-6, 1 - 1e-6)
    return p_target / (1 - p_target) * (len(source_train_features) / len(target_features))


def dev_score(weights: np.ndarray, source_val_losses: np.ndarray, normalization: str | None = None) -> float:
    """Minus DEV's risk (You et al., ICML 2019): the importance-weighted source validation
    loss with the weights as control variate, mean(w l) + eta mean(w) - eta,
    eta = -Cov(w l, w) / Var(w). `normalization="max"` is DEVN (Musgrave 2022): weights
    divided by their maximum, then shifted to mean 1, which tames a few huge weights."""
    w = np.asarray(weights, dtype=np.float64).copy()
    loss = np.asarray(source_val_losses, dtype=np.float64)
    if normalization == "max":
        w /= w.max()
        w -= w.mean() - 1
    elif normalization is not None:
        raise ValueError(f"normalization must be None or 'max', got {normalization!r}")
    weighted = w * loss
    var_w = np.var(w, ddof=1)
    eta = -np.cov(weighted, w)[0, 1] / var_w if var_w > 0 else 0.0
    return -float(weighted.mean() + eta * w.mean() - eta)


def class_ami(target_features: np.ndarray, target_logits: torch.Tensor, seed: int = 0) -> float | None:
    """ClassAMI (Musgrave 2022): k-means on target features with one cluster per class, then the
    adjusted mutual information between the clusters and the predicted classes. High when
    the classifier's decisions follow the structure of the target features.

    None unless there are more images than classes (k-means needs them). A collapsed model,
    all predictions one class or all features alike (one cluster), scores 0, what AMI gives a
    labelling that carries no information: scikit-learn's AMI of one cluster against one
    class is 1.0, the maximum, which would make collapse the best checkpoint."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_mutual_info_score

    logits = torch.as_tensor(target_logits)
    k = logits.shape[1]
    if len(logits) <= k:
        return None
    features = np.asarray(target_features, dtype=np.float64)
    if _one_class(logits) or np.ptp(features, axis=0).max() == 0:
        return 0.0
    clusters = KMeans(n_clusters=k, n_init=1, random_state=seed).fit_predict(features)
    return float(adjusted_mutual_info_score(clusters, logits.argmax(1).numpy()))


def _one_class(logits: torch.Tensor) -> bool:
    """Every image predicted as the same class: a collapsed classifier."""
    predicted = torch.as_tensor(logits).argmax(1)
    return bool((predicted == predicted[0]).all())


def ensv_scores(probabilities: list[torch.Tensor]) -> list[float]:
    """EnsV (Hu et al., NeurIPS 2024 Datasets & Benchmarks, ensemble-based validation): each
    candidate's agreement with the ensemble of all candidates. The ensemble averages the
    candidates' (N, C) target class probabilities and takes the argmax; a candidate scores
    the share of the N images where its own argmax is the ensemble's. It needs no label and
    no single candidate's trust: it selects among models, and is no score of one model alone
    (adding or dropping a candidate changes everyone's score)."""
    if not probabilities:
        return []
    stacked = torch.stack([torch.as_tensor(p, dtype=torch.float64) for p in probabilities])
    ensemble = stacked.mean(dim=0).argmax(dim=1)
    return [(p.argmax(dim=1) == ensemble).double().mean().item() for p in stacked]
