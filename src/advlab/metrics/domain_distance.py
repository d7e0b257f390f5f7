"""Proxy A-distance (Ben-David et al.): how separable two domains are in a feature space.

A linear classifier is trained to tell source features from target features on one half
of them and tested on the other half; with test error eps, PAD = 2 (1 - 2 eps). Features
a linear model cannot separate (eps near 0.5) give PAD near 0; fully separable ones give 2.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def proxy_a_distance(source: torch.Tensor, target: torch.Tensor, seed: int = 0) -> float:
    x = torch.cat([source, target]).double().numpy()
    y = np.r_[np.zeros(len(source)), np.ones(len(target))]
    order = np.random.default_rng(seed).permutation(len(x))
    train, test = order[: len(x) // 2], order[len(x) // 2 :]
    scaler = StandardScaler().fit(x[train])
    classifier = LogisticRegression(C=1.0, max_iter=2000).fit(scaler.transform(x[train]), y[train])
    error = 1.0 - classifier.score(scaler.transform(x[test]), y[test])
    return 2.0 * (1.0 - 2.0 * error)
