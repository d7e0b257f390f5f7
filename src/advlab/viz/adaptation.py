"""Figures of the domain-adaptation study: curves over training, the reversal-factor sweep,
and the pseudo-labelling rounds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def plot_training_curves(
    histories: Sequence[list[dict]],
    lam: Callable[[float], float],
    lr: Callable[[float], float],
    path: Path,
    title: str = "",
) -> Path:
    """Source and target accuracy per epoch (one faint line per seed, bold mean) above
    lambda(p) and the learning rate on the same epoch axis."""
    epochs = len(histories[0])
    fig, (ax_acc, ax_sched) = plt.subplots(2, 1, figsize=(8, 7), sharex=True, height_ratios=(2, 1))
    x = np.arange(1, epochs + 1)
    for key, colour in (("source_acc", "tab:blue"), ("target_acc", "tab:red")):
        runs = np.array([[h[key] for h in history] for history in histories])
        for run in runs:
            ax_acc.plot(x, run, color=colour, alpha=0.25, lw=1)
        ax_acc.plot(
            x,
            runs.mean(0),
            color=colour,
            lw=2,
            marker="o",
            ms=3,
            label=key.replace("_acc", "") + f" (mean of {len(runs)})",
        )
    ax_acc.set_ylabel("accuracy")
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(loc="lower right")
    ax_acc.set_title(title)
    t = np.linspace(0, epochs, 400)
    ax_sched.plot(t, [lam(v / epochs) for v in t], color="tab:purple", label="lambda(p)")
    ax_sched.set_ylabel("lambda")
    ax_lr = ax_sched.twinx()
    ax_lr.plot(t, [lr(v / epochs) for v in t], color="tab:green", label="learning rate")
    ax_lr.set_ylabel("learning rate")
    ax_sched.set_xlabel("epoch")
    ax_sched.legend(handles=ax_sched.get_lines() + ax_lr.get_lines(), loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_lambda_sweep(points: list[dict], path: Path) -> Path:
    """Target and domain-classifier accuracy against constant lambda (symlog axis, so 0 fits);
    ramp schedules drawn as horizontal lines; unstable settings circled."""
    fig, ax = plt.subplots(figsize=(8, 5))
    constant = sorted((p for p in points if p["schedule"] == "constant"), key=lambda p: p["lambda"])
    lams = [p["lambda"] for p in constant]
    for key, colour, label in (
        ("target_acc", "tab:red", "target accuracy"),
        ("domain_acc", "tab:gray", "domain-classifier accuracy"),
    ):
        ax.plot(lams, [p[key] for p in constant], marker="o", color=colour, label=f"{label} (constant lambda)")
    for p, style in zip((p for p in points if p["schedule"] == "ramp"), ("--", ":", "-.")):
        ax.axhline(
            p["target_acc"], color="tab:red", ls=style, lw=1, label=f"target accuracy, ramp gamma={p['gamma']:g}"
        )
    unstable = [p for p in constant if p["unstable"]]
    if unstable:
        ax.scatter(
            [p["lambda"] for p in unstable],
            [p["target_acc"] for p in unstable],
            s=220,
            facecolors="none",
            edgecolors="black",
            lw=1.5,
            label="unstable",
            zorder=5,
        )
    ax.set_xscale("symlog", linthresh=0.03)
    ax.set_xticks(lams, [f"{v:g}" for v in lams])
    ax.set_xlim(-0.01, max(lams) * 1.5)
    ax.set_xlabel("lambda (constant over training)")
    ax.set_ylabel("accuracy (final epoch)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_pseudo_label_rounds(curves: dict[str, list[dict]], thresholds: list[dict], path: Path) -> Path:
    """Left: target accuracy and pseudo-label accuracy per round for each starting model.
    Right: the threshold sweep (final target accuracy and share selected)."""
    fig, (ax_rounds, ax_sweep) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, rounds in curves.items():
        r = [0] + [x["round"] for x in rounds[1:]]
        line = ax_rounds.plot(r, [x["target_acc"] for x in rounds], marker="o", label=f"target accuracy, from {name}")[
            0
        ]
        ax_rounds.plot(
            r[1:],
            [x["pl_label_acc"] for x in rounds[1:]],
            marker="x",
            ls="--",
            color=line.get_color(),
            label=f"pseudo-label accuracy, from {name}",
        )
    ax_rounds.set_xticks(range(max(len(r) for r in curves.values())))
    ax_rounds.set_xlabel("round (0: the starting model)")
    ax_rounds.set_ylabel("accuracy")
    ax_rounds.grid(alpha=0.3)
    ax_rounds.legend(fontsize=8)
    if thresholds:
        t = [x["threshold"] for x in thresholds]
        ax_sweep.plot(
            t, [x["target_acc"] for x in thresholds], marker="o", color="tab:red", label="target accuracy (last round)"
        )
        ax_sweep.plot(
            t,
            [x["pl_selected_share"] for x in thresholds],
            marker="s",
            color="tab:gray",
            label="share of target selected (last round)",
        )
        ax_sweep.plot(
            t,
            [x["pl_label_acc"] for x in thresholds],
            marker="x",
            ls="--",
            color="tab:green",
            label="pseudo-label accuracy (last round)",
        )
        ax_sweep.set_xlabel("confidence threshold")
        ax_sweep.grid(alpha=0.3)
        ax_sweep.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_method_comparison(
    accuracies: dict[str, list[float]], baselines: Sequence[str], title: str, path: Path
) -> Path:
    """Final-epoch target accuracy per method: a bar at the mean, a dot per seed; baselines grey."""
    methods = [m for m, accs in accuracies.items() if accs]
    fig, ax = plt.subplots(figsize=(9, 3.8))
    for i, method in enumerate(methods):
        accs = accuracies[method]
        ax.bar(i, float(np.mean(accs)), color="grey" if method in baselines else "tab:blue", alpha=0.5)
        ax.scatter([i] * len(accs), accs, color="black", s=12, zorder=3)
    ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right")
    ax.set_ylabel("final-epoch target accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
