"""Loss curves of GAN runs, raw and smoothed, G and D on one figure."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read_losses(run_dir: Path) -> dict[str, np.ndarray]:
    with open(run_dir / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in ("iteration", "loss_d", "loss_g", "d_x", "d_g_z")}


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (the first points average what exists so far)."""
    if len(values) == 0:
        return values
    window = max(1, min(window, len(values)))
    c = np.cumsum(np.insert(values, 0, 0.0))
    out = (c[window:] - c[:-window]) / window
    head = c[1:window] / np.arange(1, window)
    return np.concatenate([head, out])


def plot_losses(run_dirs: list[Path], path: Path, labels: list[str] | None = None, window: int = 100) -> Path:
    """loss_D and loss_G over iterations (faint: raw, bold: smoothed), and D(x), D(G(z)):
    D's mean probability of "real" in a game with a sigmoid, a critic's raw mean score
    (any sign) in a Wasserstein game; the axis is [0, 1] only when every value is in it."""
    fig, (ax_loss, ax_d) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    scores = []
    for i, run_dir in enumerate(run_dirs):
        data = read_losses(Path(run_dir))
        scores += [data["d_x"], data["d_g_z"]]
        name = labels[i] if labels else ""
        prefix = f"{name} " if name else ""
        for j, (key, label) in enumerate((("loss_d", "loss D"), ("loss_g", "loss G"))):
            colour = colours[(2 * i + j) % len(colours)]
            ax_loss.plot(data["iteration"], data[key], color=colour, alpha=0.2, linewidth=0.5)
            ax_loss.plot(
                data["iteration"], smooth(data[key], window), color=colour, linewidth=1.5, label=prefix + label
            )
        for j, (key, label) in enumerate((("d_x", "D(x)"), ("d_g_z", "D(G(z))"))):
            colour = colours[(2 * i + j) % len(colours)]
            ax_d.plot(data["iteration"], smooth(data[key], window), color=colour, linewidth=1.5, label=prefix + label)
    ax_loss.set_ylabel("loss")
    ax_loss.set_title(f"GAN losses (faint: every iteration; bold: moving average of {window})")
    ax_loss.legend(fontsize=8)
    ax_d.set_ylabel("mean D output")
    ax_d.set_xlabel("iteration")
    if all(((v >= 0) & (v <= 1)).all() for v in scores):
        ax_d.set_ylim(0, 1)
    ax_d.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
