"""Benchmark: each backbone with `source_only`, `dann` and `target_only`, MNIST -> MNIST-M (issue 23).

Each run is the real `advlab adapt` with its defaults except the budget (--train-subset,
--epochs, --test-subset) and the backbone: 28 x 28 backbones see the images as every
advlab run does (MNIST-M centre-cropped), 32 x 32 ones get `--geometry pad` (MNIST's
digits centred on black, MNIST-M whole: both at the digits' own scale). Runs go one at a
time, seed by seed and backbone by backbone, so that the machine's state hits all backbones
alike; each has its own run directory, reused when its summary.json exists and resumed when
it has a last.pt, so the script can be stopped and started again. Accuracy is the final
epoch's (target_only reads target labels: the upper bound, never an adaptation result).
Epoch time is the mean `train_seconds` of a run's epochs, relative to `ganin`'s for the
same method and seeds, all from this invocation's machine. Writes
benchmarks/results/backbones.{json,md}.

    python benchmarks/backbones.py                       # seeds 0-2, the default budget
    python benchmarks/backbones.py --backbones ganin dtn --seeds 0
    python benchmarks/backbones.py --table-only          # tables from the finished runs
    # the new methods at this budget beside ganin's rows (results/short_budget_methods.md)
    python benchmarks/backbones.py --backbones ganin --seeds 0 --methods source_only dann vada mean_teacher \
        fixmatch adamatch --out benchmarks/results/short_budget_methods
    python benchmarks/backbones.py --device cuda --backbones ganin dirtt_small --out benchmarks/results/backbones_gpu
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from common import machine, mean_std, write_report

HERE = Path(__file__).resolve().parent
BACKBONES = ("ganin", "ganin_bn", "lenet", "dtn", "dirtt_small")
METHODS = ("source_only", "dann", "target_only")
REFERENCE = "ganin"


def geometry(backbone: str) -> str:
    from advlab.backbones import BACKBONES as REGISTRY

    return "pad" if REGISTRY[backbone].input_size == 32 else "crop"


def run_dir(args: argparse.Namespace, backbone: str, method: str, seed: int) -> Path:
    return args.runs / f"{backbone}-{method}-s{seed}"


def run_one(backbone: str, method: str, seed: int, args: argparse.Namespace) -> None:
    out = run_dir(args, backbone, method, seed)
    if (out / "summary.json").exists():
        return
    cmd = [sys.executable, "-m", "advlab.cli", "adapt", "--method", method, "--backbone", backbone]
    cmd += ["--geometry", geometry(backbone), "--seed", str(seed), "--epochs", str(args.epochs)]
    cmd += ["--train-subset", str(args.train_subset), "--test-subset", str(args.test_subset)]
    cmd += ["--threads", str(args.threads), "--device", args.device, "--quiet", "--out", str(out)]
    if args.data_dir:
        cmd += ["--data-dir", str(args.data_dir)]
    if (out / "last.pt").exists():
        cmd.append("--resume")
    started = time.perf_counter()
    args.runs.mkdir(parents=True, exist_ok=True)
    with open(args.runs / f"{out.name}.log", "a") as log:
        result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    status = "done" if result.returncode == 0 else f"FAILED (exit {result.returncode}, see its log)"
    print(f"{out.name}: {status} in {(time.perf_counter() - started) / 60:.1f} min", flush=True)


def history(path: Path, epochs: int) -> list[dict] | None:
    """A finished run's epoch records (None while unfinished)."""
    if not path.exists():
        return None
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return records if len(records) == epochs else None


def collect(args: argparse.Namespace) -> dict:
    rows: dict = {}
    for backbone in args.backbones:
        for method in args.methods:
            target, source, seconds, seeds = [], [], [], []
            for seed in args.seeds:
                records = history(run_dir(args, backbone, method, seed) / "metrics.jsonl", args.epochs)
                if records is None:
                    continue
                target.append(records[-1]["target_acc"])
                source.append(records[-1]["source_acc"])
                seconds.append(sum(r["train_seconds"] for r in records) / len(records))
                seeds.append(seed)
            rows.setdefault(backbone, {})[method] = {
                "seeds": seeds,
                "target_acc": mean_std(target),
                "source_acc": mean_std(source),
                "epoch_seconds": mean_std(seconds),
            }
    for methods in rows.values():  # relative to the reference backbone, method by method
        for method, row in methods.items():
            # a statistic of no finished run is None (mean_std of nothing)
            ref = ((rows.get(REFERENCE, {}).get(method) or {}).get("epoch_seconds") or {}).get("mean")
            mine = (row["epoch_seconds"] or {}).get("mean")
            row["epoch_time_vs_ganin"] = mine / ref if ref and mine is not None else None
    return {
        "benchmark": "backbones",
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "budget": {
            "pair": "mnist -> mnist_m",
            "epochs": args.epochs,
            "train_subset": args.train_subset,
            "test_subset": args.test_subset,
            "seeds": args.seeds,
            "methods": args.methods,
            "threads": args.threads,
            "device": args.device,
            "geometry": {b: geometry(b) for b in args.backbones},
            "options": "advlab adapt defaults otherwise (sgd, lr 0.01 annealed, batch 64 + 64, per-image norm)",
        },
        "machine": machine(),
        "results": rows,
    }


def cell(stat: dict | None, digits: int = 3) -> str:
    return "" if not stat or stat["mean"] is None else f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def markdown(report: dict) -> str:
    b, m = report["budget"], report["machine"]
    lines = [
        f"# Backbones and methods at a short budget: {', '.join(report['budget']['methods'])} on MNIST -> MNIST-M",
        "",
        f"First {b['train_subset']} training images of each domain, {b['epochs']} epochs, first {b['test_subset']} "
        f"test images, seeds {', '.join(map(str, b['seeds']))}, {b['threads']} threads; {b['options']}. "
        "28 x 28 backbones: centre crop; 32 x 32 ones: `--geometry pad`. Final epoch. Epoch time: mean training "
        f"seconds per epoch, and its ratio to `ganin`'s for the same method, all measured in this invocation on "
        f"{m.get('processor') or 'this machine'}. `target_only` trains on target labels: the upper bound, not an "
        "adaptation result. Written by benchmarks/backbones.py.",
        "",
        "| backbone | method | target acc | source acc | epoch s | × ganin | seeds |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for backbone, methods in report["results"].items():
        for method, row in methods.items():
            if not row["seeds"]:
                lines.append(f"| {backbone} | {method} | not run | | | | |")
                continue
            ratio = row["epoch_time_vs_ganin"]
            lines.append(
                f"| {backbone} | {method} | {cell(row['target_acc'])} | {cell(row['source_acc'])} | "
                f"{cell(row['epoch_seconds'], 1)} | {'' if ratio is None else f'{ratio:.1f}'} | {len(row['seeds'])} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=BACKBONES)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--methods", nargs="+", default=list(METHODS), help="other methods at the same budget (default: the three)"
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-subset", type=int, default=10_000)
    parser.add_argument("--test-subset", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: $ADVLAB_DATA")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (benchmarks/gpu.sh: the GPU run)")
    parser.add_argument("--runs", type=Path, default=HERE / "runs" / "backbones")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "backbones")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    if not args.table_only:
        for seed in args.seeds:  # seed by seed: a partial benchmark still compares every backbone
            for backbone in args.backbones:
                for method in args.methods:
                    run_one(backbone, method, seed, args)
                    write_report(collect(args), args.out, markdown)
    write_report(collect(args), args.out, markdown)


if __name__ == "__main__":
    main()
