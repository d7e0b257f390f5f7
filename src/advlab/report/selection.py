"""`advlab select`: which checkpoint each label-free validator picks, read from finished runs.

Nothing is retrained. The target accuracy of every pick is shown beside the last epoch's
and the oracle's (the best target test accuracy: analysis only, never a selection rule).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from advlab.errors import AdvlabError
from advlab.metrics.ranking import weighted_spearman
from advlab.train.validation import VALIDATORS


@dataclass
class Checkpoint:
    run: str
    epoch: int
    target_acc: float
    scores: dict[str, float]


def read_checkpoints(run_dir: Path) -> list[Checkpoint]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise AdvlabError(f"{run_dir} is not an advlab adapt run directory (no metrics.jsonl)")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        raise AdvlabError(f"{run_dir} has no finished epoch yet")
    return [
        Checkpoint(
            str(run_dir),
            r["epoch"],
            r["target_acc"],
            {name: r[key] for name, key in VALIDATORS.items() if r.get(key) is not None},
        )
        for r in rows
    ]


def pick(checkpoints: list[Checkpoint], validator: str) -> Checkpoint | None:
    """The checkpoint the validator scores highest (the earliest among equals); None if no
    checkpoint has its score."""
    scored = [c for c in checkpoints if validator in c.scores]
    return max(scored, key=lambda c: c.scores[validator]) if scored else None


def per_run(checkpoints: list[Checkpoint], validators: list[str]) -> dict[str, Any]:
    last, oracle = checkpoints[-1], max(checkpoints, key=lambda c: c.target_acc)
    picks = {}
    for name in validators:
        chosen = pick(checkpoints, name)
        picks[name] = None if chosen is None else {"epoch": chosen.epoch, "target_acc": chosen.target_acc}
    return {
        "run": last.run,
        "epochs": len(checkpoints),
        "last": {"epoch": last.epoch, "target_acc": last.target_acc},
        "oracle_analysis_only": {"epoch": oracle.epoch, "target_acc": oracle.target_acc},
        "picks": picks,
    }


def across_runs(runs: list[list[Checkpoint]], validators: list[str]) -> dict[str, Any]:
    """Over every checkpoint of every run: each validator's pick and its weighted Spearman
    correlation with target accuracy; `last` picks among the runs' last epochs."""
    pool = [c for run in runs for c in run]
    lasts = [run[-1] for run in runs]
    best_last = max(lasts, key=lambda c: c.target_acc)
    out: dict[str, Any] = {
        "checkpoints": len(pool),
        "oracle_analysis_only": _where(max(pool, key=lambda c: c.target_acc)),
        "mean_last_target_acc": float(np.mean([c.target_acc for c in lasts])),
        "validators": {},
    }
    out["best_last_analysis_only"] = _where(best_last)
    for name in validators:
        scored = [c for c in pool if name in c.scores]
        if not scored:
            out["validators"][name] = None
            continue
        out["validators"][name] = {
            "pick": _where(pick(scored, name)),
            "weighted_spearman": weighted_spearman([c.scores[name] for c in scored], [c.target_acc for c in scored])
            if len(scored) > 2
            else None,
            "checkpoints_scored": len(scored),
            "mean_pick_per_run": float(
                np.mean([chosen.target_acc for chosen in map(lambda run: pick(run, name), runs) if chosen])
            ),
        }
    return out


def _where(c: Checkpoint) -> dict[str, Any]:
    return {"run": c.run, "epoch": c.epoch, "target_acc": c.target_acc}


def select(run_dirs: list[Path], validators: list[str] | None = None) -> dict[str, Any]:
    unknown = [v for v in validators or [] if v not in VALIDATORS]
    if unknown:
        raise AdvlabError(f"unknown validator {unknown[0]!r}; choose from {', '.join(VALIDATORS)}")
    names = validators or list(VALIDATORS)
    runs = [read_checkpoints(d) for d in run_dirs]
    result = {"validators": names, "runs": [per_run(r, names) for r in runs]}
    if len(runs) > 1:
        result["across_runs"] = across_runs(runs, names)
    return result


def table(result: dict[str, Any]) -> str:
    """The terminal view: one block per run, then the pooled comparison."""
    lines = []
    for r in result["runs"]:
        lines.append(f"{r['run']}  ({r['epochs']} epochs)")
        lines.append(f"  {'rule':<12} {'epoch':>5}  target acc")
        lines.append(f"  {'last':<12} {r['last']['epoch']:>5}  {r['last']['target_acc']:.4f}")
        for name, p in r["picks"].items():
            lines.append(
                f"  {name:<12} {p['epoch']:>5}  {p['target_acc']:.4f}"
                if p
                else f"  {name:<12} {'-':>5}  (not recorded in this run)"
            )
        o = r["oracle_analysis_only"]
        lines.append(f"  {'oracle*':<12} {o['epoch']:>5}  {o['target_acc']:.4f}")
    pooled = result.get("across_runs")
    if pooled:
        lines.append(
            f"\nacross {len(result['runs'])} runs ({pooled['checkpoints']} checkpoints): mean target acc of the last epochs {pooled['mean_last_target_acc']:.4f}"
        )
        lines.append(
            f"  {'validator':<12} {'mean of per-run picks':>21}  {'pick among all':>14}  {'weighted Spearman':>17}"
        )
        for name, v in pooled["validators"].items():
            if v is None:
                lines.append(f"  {name:<12} (not recorded in these runs)")
                continue
            rho = (
                f"{v['weighted_spearman']:.3f}"
                if v["weighted_spearman"] is not None and not np.isnan(v["weighted_spearman"])
                else "-"
            )
            lines.append(f"  {name:<12} {v['mean_pick_per_run']:>21.4f}  {v['pick']['target_acc']:>14.4f}  {rho:>17}")
        o = pooled["oracle_analysis_only"]
        lines.append(f"  {'oracle*':<12} {'':>21}  {o['target_acc']:>14.4f}")
    lines.append("* oracle: the best target test accuracy, for analysis only; nothing is selected by it")
    return "\n".join(lines)


def figure(result: dict[str, Any], run_dirs: list[Path], path: Path) -> Path:
    """Score against target accuracy for every checkpoint, one panel per validator."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pool = [c for d in run_dirs for c in read_checkpoints(d)]
    names = [n for n in result["validators"] if any(n in c.scores for c in pool)]
    cols = min(4, max(1, len(names)))
    rows = max(1, -(-len(names) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        scored = [c for c in pool if name in c.scores]
        ax.scatter([c.scores[name] for c in scored], [c.target_acc for c in scored], s=8, alpha=0.6)
        rho = result.get("across_runs", {}).get("validators", {}).get(name, {}) or {}
        ax.set_title(
            name + (f"  (wρ {rho['weighted_spearman']:.2f})" if rho.get("weighted_spearman") is not None else ""),
            fontsize=9,
        )
        ax.set_xlabel("score", fontsize=8)
        ax.set_ylabel("target acc (analysis)", fontsize=8)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
