"""Measure the label-free validators on finished runs: how far each one's picks land from
the last epoch and from the oracle (the best target test accuracy, analysis only).

Reads the methods benchmark's runs (benchmarks/runs/methods_mnist_mnistm, every method but
target_only) and, if given, a study's λ sweep (`--study DIR`); only runs that recorded the
validators' scores (`val_*` in metrics.jsonl) count for them. Nothing is retrained. Writes
benchmarks/results/model_selection.{json,md,png}.

    python benchmarks/model_selection.py [--study study-full]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from common import write_report

from advlab.report.selection import figure, select

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
        rows[name] = {"runs": len(runs), "mean_pick": picked, "mean_last": last, "mean_oracle": best,
                      "vs_last": picked - last, "vs_oracle": picked - best, "weighted_spearman": v["weighted_spearman"],
                      "pick_among_all": v["pick"]}
    return {"runs": len(result["runs"]), "mean_oracle_all": oracle, "validators": rows}


def markdown(report: dict) -> str:
    lines = ["# Choosing a checkpoint without target labels", ""]
    for title, part in report["sets"].items():
        lines += [f"## {title}: {part['runs']} runs", "",
                  "| validator | runs scored | mean target acc of its picks | vs last epoch | vs oracle | weighted Spearman | its pick among all checkpoints |",
                  "|---|---|---|---|---|---|---|"]
        for name, r in part["validators"].items():
            rho = "–" if r["weighted_spearman"] is None or np.isnan(r["weighted_spearman"]) else f"{r['weighted_spearman']:.3f}"
            where = f"{Path(r['pick_among_all']['run']).name} ep {r['pick_among_all']['epoch']}: {r['pick_among_all']['target_acc']:.4f}"
            lines.append(f"| `{name}` | {r['runs']} | {r['mean_pick']:.4f} | {r['vs_last']:+.4f} | {r['vs_oracle']:+.4f} | {rho} | {where} |")
        lines.append("")
    lines += ["Oracle: the best target test accuracy of each run, analysis only. A validator's row covers the runs that recorded "
              "its score; `source_val` is recorded by every run.", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=HERE / "runs" / "methods_mnist_mnistm")
    parser.add_argument("--study", type=Path, help="a reproduce directory whose λ sweep to measure too")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "model_selection")
    args = parser.parse_args()
    sets = {"methods benchmark": sorted(d for d in args.runs.iterdir() if (d / "summary.json").exists() and not d.name.startswith("target_only"))}
    if args.study:
        sets["λ sweep"] = sorted(d for d in (args.study / "runs").glob("sweep-*") if (d / "summary.json").exists())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"sets": {}}
    for title, dirs in sets.items():
        result = select(dirs)
        report["sets"][title] = summarise(result)
        if title == "methods benchmark":
            figure(result, dirs, args.out.with_suffix(".png"))
    write_report(report, args.out, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
