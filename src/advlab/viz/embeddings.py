"""t-SNE pictures of feature spaces: do source and target overlap, and do classes separate?"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.manifold import TSNE


def tsne_2d(features: np.ndarray, seed: int = 0) -> np.ndarray:
    perplexity = min(30.0, (len(features) - 1) / 3)  # t-SNE needs perplexity < n
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)


def plot_embeddings(
    panels: dict[str, np.ndarray],
    is_target: np.ndarray,
    labels: np.ndarray,
    path: Path,
    notes: dict[str, str] | None = None,
) -> Path:
    """One column per model (2-D points in `panels`), coloured by domain (top) and class (bottom)."""
    fig, axes = plt.subplots(2, len(panels), figsize=(5 * len(panels), 9.5), squeeze=False)
    for col, (name, xy) in enumerate(panels.items()):
        top, bottom = axes[0, col], axes[1, col]
        for value, colour, label in ((0, "tab:blue", "source"), (1, "tab:red", "target")):
            m = is_target == value
            top.scatter(xy[m, 0], xy[m, 1], s=3, c=colour, alpha=0.5, label=label, rasterized=True)
        points = bottom.scatter(
            xy[:, 0], xy[:, 1], s=3, c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, alpha=0.6, rasterized=True
        )
        top.set_title(f"{name}: by domain" + (f"\n{notes[name]}" if notes and name in notes else ""))
        bottom.set_title(f"{name}: by class")
        for ax in (top, bottom):
            ax.set_xticks([]), ax.set_yticks([])
    axes[0, 0].legend(markerscale=4, loc="best")
    fig.colorbar(points, ax=axes[1, :].tolist(), ticks=range(10), label="class", shrink=0.8)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
