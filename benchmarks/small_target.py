"""Benchmark: every adaptation method with a small unlabelled target set (issue 22).

Issue 22 saw `dan` never learn the source task, and `cdan` give up source accuracy, on a
pair with ~1,000 unlabelled target training images. This script checks every method in
that regime on two pairs built from the shared MNIST / MNIST-M copies (../shared/data):

- `mnist->mnist_m`: source MNIST training images 0..9,999; target MNIST-M training images
  30,000..30,999 (1,000, digits none of the source's), target test set MNIST-M's test set;
- `mnist_m->mnist`: source MNIST-M training images 0..9,999; target MNIST training images
  50,000..50,999 (1,000; MNIST-M image k is MNIST digit k blended, so the target digits are
  none of the source's), target test set MNIST's test set.

Each domain is written once as an .npz under --runs (the full test sets, centre-cropped to
28x28 as `advlab adapt` does). Each run is the real `advlab adapt` (defaults except the
budget: --epochs, --test-subset, one thread), one process at a time, in its own run
directory, reused when its summary.json exists and resumed when it has a last.pt, so the
script can be stopped and started again. Accuracy is the final epoch's. Writes
benchmarks/results/small_target.{json,md}.

    python benchmarks/small_target.py                      # seed 0, 4 epochs
    python benchmarks/small_target.py --seeds 0 1 2
    python benchmarks/small_target.py --table-only         # tables from the finished runs
    python benchmarks/small_target.py --methods source_only vada dirtt   # some methods (dirtt needs vada)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from advlab.report.study import COMPARED_METHODS, REFINEMENTS
from common import machine, mean_std, write_report

HERE = Path(__file__).resolve().parent
# the study's comparison (advlab.report.study); a two-stage method after the run it starts from
METHODS = ("source_only", "dann", *COMPARED_METHODS, *REFINEMENTS)
# a two-stage method -> the run of the same pair and seed it starts from; its second stage is half the budget
FIRST_STAGE = REFINEMENTS


def run_epochs(method: str, args: argparse.Namespace) -> int:
    return max(1, args.epochs // 2) if method in FIRST_STAGE else args.epochs


SOURCE_IMAGES = 10_000
TARGET_IMAGES = 1_000
# pair -> (source domain, source's first training image, target domain, target's first training image)
PAIRS = {
    "mnist->mnist_m": ("mnist", 0, "mnist_m", 30_000),
    "mnist_m->mnist": ("mnist_m", 0, "mnist", 50_000),
}


def write_domain(path: Path, name: str, start: int, count: int, data_dir: Path) -> Path:
    """Training images start..start+count of a built-in domain and its whole test set, as .npz."""
    if path.exists():
        return path
    from advlab.data.domains import load_domain

    domain = load_domain(name, data_dir, quiet=True)
    train = slice(start, start + count)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(
        partial,
        x_train=domain.train.x[train].numpy(),
        y_train=domain.train.y[train].numpy(),
        x_test=domain.test.x.numpy(),
        y_test=domain.test.y.numpy(),
    )
    partial.replace(path)
    return path


def run_one(pair: str, method: str, seed: int, args: argparse.Namespace) -> None:
    source, source_start, target, target_start = PAIRS[pair]
    folder = args.runs / pair.replace("->", "-to-")
    src = write_domain(folder / f"{source}-{SOURCE_IMAGES}.npz", source, source_start, SOURCE_IMAGES, args.data_dir)
    tgt = write_domain(folder / f"{target}-{TARGET_IMAGES}.npz", target, target_start, TARGET_IMAGES, args.data_dir)
    out = folder / f"{method}-s{seed}"
    if (out / "summary.json").exists():
        return
    cmd = [sys.executable, "-m", "advlab.cli", "adapt", "--method", method, "--source", str(src), "--target", str(tgt)]
    cmd += ["--seed", str(seed), "--epochs", str(run_epochs(method, args)), "--test-subset", str(args.test_subset)]
    if method in FIRST_STAGE:
        first = folder / f"{FIRST_STAGE[method]}-s{seed}"
        if not (first / "summary.json").exists():
            print(f"{pair} {method}-s{seed}: skipped, {first} has not finished", flush=True)
            return
        cmd += ["--init", str(first)]
    cmd += ["--threads", "1", "--quiet", "--out", str(out)]
    if (out / "last.pt").exists():
        cmd.append("--resume")
    started = time.perf_counter()
    with open(folder / f"{method}-s{seed}.log", "a") as log:
        result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    status = "done" if result.returncode == 0 else f"FAILED (exit {result.returncode}, see its log)"
    print(f"{pair} {method}-s{seed}: {status} in {(time.perf_counter() - started) / 60:.1f} min", flush=True)


def final_epoch(path: Path, epochs: int) -> dict | None:
    """The last line of a finished run's metrics.jsonl (None while unfinished)."""
    if not path.exists():
        return None
    history = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return history[-1] if len(history) == epochs else None


def previous_rows(args: argparse.Namespace) -> dict:
    """The last results' rows, where they were made at this budget (pair -> method -> row, each
    marked with the machine it ran on): a method none of whose runs are on this machine keeps its
    row instead of turning into "not run" (the runs folder is not committed)."""
    path = args.out.with_suffix(".json")
    if not path.exists():
        return {}
    last = json.loads(path.read_text())
    keys = ("epochs", "source_training_images", "target_training_images", "test_subset")
    budget = {"epochs": args.epochs, "source_training_images": SOURCE_IMAGES, "target_training_images": TARGET_IMAGES}
    budget["test_subset"] = args.test_subset
    if any(last["budget"].get(k) != budget[k] for k in keys):
        return {}
    made_on = last.get("machine", {}).get("processor", "unknown")
    return {
        pair: {m: {"machine": made_on, **row} for m, row in rows.items() if row["seeds"]}
        for pair, rows in last["results"].items()
    }


def collect(args: argparse.Namespace) -> dict:
    rows, earlier = {}, previous_rows(args)
    for pair in PAIRS:
        for method in METHODS:
            target, source, seeds = [], [], []
            for seed in args.seeds:
                last = final_epoch(
                    args.runs / pair.replace("->", "-to-") / f"{method}-s{seed}" / "metrics.jsonl",
                    run_epochs(method, args),
                )
                if last is not None:
                    target.append(last["target_acc"])
                    source.append(last["source_acc"])
                    seeds.append(seed)
            if not seeds and method in earlier.get(pair, {}):
                rows.setdefault(pair, {})[method] = earlier[pair][method]
                continue
            rows.setdefault(pair, {})[method] = {
                "seeds": seeds,
                "target_acc": mean_std(target),
                "source_acc": mean_std(source),
                "machine": machine()["processor"],
            }
    return {
        "benchmark": "small_target",
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "budget": {
            "epochs": args.epochs,
            "source_training_images": SOURCE_IMAGES,
            "target_training_images": TARGET_IMAGES,
            "test_subset": args.test_subset,
            "seeds": args.seeds,
            "options": "advlab adapt defaults otherwise (each method's own defaults included)",
            "two_stage": {m: f"from {f}, {max(1, args.epochs // 2)} epochs more" for m, f in FIRST_STAGE.items()},
        },
        "pairs": {
            p: {"source": s, "source_first": a, "target": t, "target_first": b} for p, (s, a, t, b) in PAIRS.items()
        },
        "machine": machine(),
        "results": rows,
    }


def markdown(report: dict) -> str:
    b = report["budget"]
    lines = [
        "# Small unlabelled target set (issue 22)",
        "",
        f"{b['source_training_images']} labelled source and {b['target_training_images']} unlabelled target training "
        f"images, {b['epochs']} epochs, first {b['test_subset']} test images of each domain, `advlab adapt` defaults "
        f"otherwise; final epoch; seeds {', '.join(map(str, b['seeds']))}. Written by benchmarks/small_target.py.",
    ]
    if b.get("two_stage"):
        said = "; ".join(f"`{m}` {how}" for m, how in b["two_stage"].items())
        lines += ["", f"Two-stage methods (same pair and seed): {said}."]
    for pair, rows in report["results"].items():
        lines += [
            "",
            f"## {pair}",
            "",
            "| method | target acc | source acc | seeds | machine |",
            "| --- | --- | --- | --- | --- |",
        ]
        for method, row in rows.items():
            if not row["seeds"]:
                lines.append(f"| {method} | not run | | | |")
                continue
            t, s = row["target_acc"], row["source_acc"]
            cells = f"{t['mean']:.3f} ± {t['std']:.3f} | {s['mean']:.3f} ± {s['std']:.3f}"
            made_on = " ".join(row.get("machine", "–").replace("(R)", "").split()[:2])
            lines.append(f"| {method} | {cells} | {len(row['seeds'])} | {made_on} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--test-subset", type=int, default=2000)
    parser.add_argument("--data-dir", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--runs", type=Path, default=HERE / "runs" / "small_target")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "small_target")
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=list(METHODS),
        help="the methods to run (default: all); a two-stage one needs its first stage's run here",
    )
    args = parser.parse_args()
    if not args.table_only:
        for seed in args.seeds:  # seed by seed: a partial benchmark still compares every method
            for pair in PAIRS:
                for method in [m for m in METHODS if m in args.methods]:
                    run_one(pair, method, seed, args)
                    write_report(collect(args), args.out, markdown)
    write_report(collect(args), args.out, markdown)


if __name__ == "__main__":
    main()
