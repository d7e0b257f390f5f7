"""Measure the label-free validators on finished runs: how far each one's picks land from
the last epoch and from the oracle (the best target test accuracy, analysis only).

Reads the methods benchmark's runs (benchmarks/runs/methods_mnist_mnistm, every method but
target_only) and the λ sweep's (benchmarks/runs/lambda_sweep, one set per seed); only runs
that recorded the validators' scores (`val_*` in metrics.jsonl) count for them. Nothing is retrained. Writes
benchmarks/results/model_selection.{json,md,png}.

    python benchmarks/model_selection.py              # after methods_mnist_mnistm.py and lambda_sweep.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from advlab.report.selection import figure, select
from common import write_report

HERE = Path(__file__).resolve().parent


def summarise(result: dict) -> dict:
    pooled = result["across_runs"]
    oracle = float(np.mean([r["oracle_analysis_only"]["target_acc"] for r in result["runs"]]))
    rows = {}
    for name, v in pooled["validators"].items():
        if v is None:
            continue
        runs = [r for r in result["runs"] if r["picks"].get(name)]
        last = float(np.mean([r["last"]["target_acc"] for r in runs]))
        picked = float(np.mean([r["picks"][name]["target_acc"] for r in runs]))
        best = float(np.mean([r["oracle_analysis_only"]["target_acc"] for r in runs]))
        rows[name] = {
            "runs": len(runs),
            "mean_pick": picked,
            "mean_last": last,
            "mean_oracle": best,
            "vs_last": picked - last,
            "vs_oracle": picked - best,
            "weighted_spearman": v["weighted_spearman"],
            "pick_among_all": v["pick"],
        }
    default = [r for r in result["runs"] if Path(r["run"]).name.startswith("sweep-gamma10-")]
    return {
        "runs": len(result["runs"]),
        "mean_oracle_all": oracle,
        "validators": rows,
        "best_checkpoint": max(r["oracle_analysis_only"]["target_acc"] for r in result["runs"]),
        "default_last": default[0]["last"]["target_acc"] if default else None,
    }


def markdown(report: dict) -> str:
    lines = ["# Choosing a checkpoint without target labels", ""]
    for title, part in report["sets"].items():
        lines += [
            f"## {title}: {part['runs']} runs",
            "",
            "| validator | runs scored | mean target acc of its picks | vs last epoch | vs oracle | weighted Spearman "
            "| its pick among all checkpoints |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in part["validators"].items():
            rho = (
                "–"
                if r["weighted_spearman"] is None or np.isnan(r["weighted_spearman"])
                else f"{r['weighted_spearman']:.3f}"
            )
            pick = r["pick_among_all"]
            where = f"{Path(pick['run']).name} ep {pick['epoch']}: {pick['target_acc']:.4f}"
            lines.append(
                f"| `{name}` | {r['runs']} | {r['mean_pick']:.4f} | {r['vs_last']:+.4f} | {r['vs_oracle']:+.4f} | "
                f"{rho} | {where} |"
            )
        lines.append("")
    sweep = report.get("lambda_sweep_over_seeds")
    if sweep:
        lines += [
            "## The λ sweep over its seeds: picking a setting and an epoch",
            "",
            f"Default setting (ramp, γ = 10) at its last epoch: {sweep['default_setting_last_epoch']:.4f}; "
            f"oracle (the best checkpoint of the sweep): {sweep['oracle']:.4f}; means over seeds.",
            "",
            "| validator | seeds | target acc of its pick among all checkpoints | vs default | vs oracle | weighted "
            "Spearman |",
            "|---|---|---|---|---|---|",
        ]
        for name, v in sweep.items():
            if isinstance(v, dict):
                lines.append(
                    f"| `{name}` | {v['seeds']} | {v['pick']:.4f} ± {v['pick_std']:.4f} | "
                    f"{v['pick'] - sweep['default_setting_last_epoch']:+.4f} | "
                    f"{v['pick'] - sweep['oracle']:+.4f} | {v['weighted_spearman']:.3f} |"
                )
        lines.append("")
    lines += [
        "Oracle: the best target test accuracy of each run, analysis only. A validator's row covers the runs that "
        "recorded "
        "its score; `source_val` is recorded by every run.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=HERE / "runs" / "methods_mnist_mnistm")
    parser.add_argument(
        "--sweep",
        type=Path,
        default=HERE / "runs" / "lambda_sweep",
        help="the λ sweep's runs (benchmarks/lambda_sweep.py), one set per seed",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "model_selection")
    args = parser.parse_args()
    sets = {
        "methods benchmark": sorted(
            d for d in args.runs.iterdir() if (d / "summary.json").exists() and not d.name.startswith("target_only")
        )
    }
    for seed in sorted(
        {d.name.rsplit("-s", 1)[1] for d in args.sweep.glob("sweep-*-s*") if d.is_dir()} if args.sweep.exists() else []
    ):
        dirs = sorted(d for d in args.sweep.glob(f"sweep-*-s{seed}") if (d / "summary.json").exists())
        if len(dirs) > 1:
            sets[f"λ sweep, seed {seed}"] = dirs
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"sets": {}}
    for title, dirs in sets.items():
        result = select(dirs)
        report["sets"][title] = summarise(result)
        if title == "methods benchmark":
            figure(result, dirs, args.out.with_suffix(".png"))
    sweeps = [part for title, part in report["sets"].items() if title.startswith("λ sweep")]
    if sweeps:
        report["lambda_sweep_over_seeds"] = over_seeds(sweeps)
    write_report(report, args.out, markdown)
    return 0


def over_seeds(sweeps: list[dict]) -> dict:
    """Per validator, over the sweep's seeds: the target accuracy of the checkpoint it picks
    among all settings and epochs, against the default setting's last epoch (the ramp with
    γ = 10, what `advlab adapt` runs) and the oracle (the best checkpoint of the sweep)."""
    out = {}
    for name in sweeps[0]["validators"]:
        picks = [
            part["validators"][name]["pick_among_all"]["target_acc"] for part in sweeps if name in part["validators"]
        ]
        out[name] = {
            "seeds": len(picks),
            "pick": float(np.mean(picks)),
            "pick_std": float(np.std(picks)),
            "weighted_spearman": float(
                np.nanmean(
                    [
                        part["validators"][name]["weighted_spearman"]
                        for part in sweeps
                        if name in part["validators"] and part["validators"][name]["weighted_spearman"] is not None
                    ]
                )
            ),
        }
    out["default_setting_last_epoch"] = float(
        np.mean([part["default_last"] for part in sweeps if part.get("default_last") is not None])
    )
    out["oracle"] = float(np.mean([part["best_checkpoint"] for part in sweeps]))
    return out


if __name__ == "__main__":
    sys.exit(main())
