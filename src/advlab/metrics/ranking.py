"""How well a validator's scores rank checkpoints by their (held-back) target accuracy."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def weighted_spearman(scores: np.ndarray, accuracies: np.ndarray, power: float = 2.0) -> float:
    """Spearman correlation in which checkpoints the validator ranks high weigh more
    (Musgrave, Belongie & Lim 2022): weights (dense rank of the score / its maximum)^power,
    then the weighted Pearson correlation of the two rank vectors. A validator is used to
    pick the top, so agreement at the top matters most. NaN when either side is constant."""
    scores, accuracies = np.asarray(scores, dtype=np.float64), np.asarray(accuracies, dtype=np.float64)
    dense = rankdata(scores, method="dense")
    w = (dense / dense.max()) ** power
    x, y = rankdata(scores), rankdata(accuracies)
    mx, my = np.average(x, weights=w), np.average(y, weights=w)
    cov = np.average((x - mx) * (y - my), weights=w)
    vx, vy = np.average((x - mx) ** 2, weights=w), np.average((y - my) ** 2, weights=w)
    return float(cov / np.sqrt(vx * vy)) if vx > 0 and vy > 0 else float("nan")
