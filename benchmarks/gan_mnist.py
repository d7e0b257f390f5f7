"""Benchmark: DCGAN, cDCGAN and the "D without y" ablation on MNIST, 3 seeds each.

Each run is `advlab gan` at its defaults (5 epochs) in its own process; the quality
metrics come from the cached LeNet evaluator (`advlab classifier`). Runs go `--jobs` at
a time with one thread each; `--jobs 1` gives each run all cores and so the honest
seconds per epoch. Writes benchmarks/results/gan_mnist.json and .md.

    python benchmarks/gan_mnist.py                 # within 60 minutes on 2 cores
    python benchmarks/gan_mnist.py --epochs 1 --seeds 0 --jobs 1   # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from advlab.gan.config import GanConfig
from advlab.gan.evaluator import build_evaluator
from advlab.gan.variants import PRACTICAL as VARIANTS  # the practical's three
from common import machine, mean_std, write_report

HERE = Path(__file__).resolve().parent
METRICS = (
    "cond_acc",
    "fid_lenet",
    "fid_floor",
    "coverage",
    "kl_uniform",
    "inception_score",
    "inception_score_real",
    "seconds_per_epoch",
)


def run_one(variant: str, seed: int, epochs: int | None, threads: int, root: Path) -> dict:
    out = root / f"{variant}-s{seed}"
    if (out / "summary.json").exists() and "fid_lenet" in json.loads((out / "summary.json").read_text()):
        return json.loads((out / "summary.json").read_text())
    cmd = [
        sys.executable,
        "-m",
        "advlab.cli",
        "gan",
        "--" + variant.replace("_", "-"),
        "--seed",
        str(seed),
        "--threads",
        str(threads),
        "--out",
        str(out),
        "--quiet",
    ]
    if epochs:
        cmd += ["--epochs", str(epochs)]
    if (out / "last.pt").exists():
        cmd.append("--resume")
    with open(root / f"{variant}-s{seed}.log", "w") as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)
    return json.loads((out / "summary.json").read_text())


def epoch_timing(root: Path, threads: int, repeats: int = 3) -> dict:
    """One cDCGAN epoch with every core, on an otherwise idle machine, `repeats` times: this
    machine's speed drifts by up to about 1.4x between minutes, so the median is reported with
    the range."""
    seconds = []
    for i in range(1, repeats + 1):
        out = root / f"timing-conditional-{i}"
        if not (out / "summary.json").exists():
            shutil.rmtree(out, ignore_errors=True)  # an interrupted timing run is timed again, not resumed
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "advlab.cli",
                    "gan",
                    "--conditional",
                    "--epochs",
                    "1",
                    "--eval-samples",
                    "0",
                    "--threads",
                    str(threads),
                    "--out",
                    str(out),
                    "--quiet",
                ],
                check=True,
            )
        summary = json.loads((out / "summary.json").read_text())
        seconds.append(summary["seconds_per_epoch"])
    return {
        "threads": threads,
        "seconds_per_epoch": statistics.median(seconds),
        "runs_seconds": seconds,
        "images_per_epoch": summary["images_per_epoch"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="default: advlab's default (5)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=Path("runs/benchmark-gan"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "gan_mnist")
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    started = time.time()
    evaluator = build_evaluator()
    timing = epoch_timing(args.runs, os.cpu_count() or 1)
    print(f"one cDCGAN epoch on {os.cpu_count()} threads: {timing['seconds_per_epoch']:.1f} s", flush=True)
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    jobs = [(v, s) for s in args.seeds for v in VARIANTS]
    with ThreadPoolExecutor(args.jobs) as pool:
        summaries = list(pool.map(lambda job: run_one(job[0], job[1], args.epochs, threads, args.runs), jobs))
    results = {v: {m: mean_std([s.get(m) for s in summaries if s["variant"] == v]) for m in METRICS} for v in VARIANTS}
    defaults = GanConfig()
    report = {
        "benchmark": "gan_mnist",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/gan_mnist.py " + " ".join(sys.argv[1:]),
        "epochs": args.epochs or defaults.epochs,
        "seeds": args.seeds,
        "config": {k: v for k, v in vars(defaults).items() if k not in ("out", "seed", "variant")},
        "runs": f"{len(jobs)} runs, {args.jobs} at a time, {threads} thread(s) each",
        "evaluator": evaluator,
        "machine": machine(),
        "results": results,
        "epoch_timing": timing,
        "wall_seconds": time.time() - started,
    }
    write_report(report, args.out, markdown)


def markdown(r: dict) -> str:
    def ms(d, digits=3):
        return "–" if d is None else f"{d['mean']:.{digits}f} ± {d['std']:.{digits}f}"

    lines = [
        "# GANs on MNIST, `advlab gan` defaults",
        "",
        f"{r['date']} · `{r['command']}` · {r['machine']['cpu_count']} CPU cores, torch {r['machine']['torch']} · "
        f"{r['epochs']} epochs, seeds {r['seeds']} ({r['runs']}) · mean ± std · evaluator test accuracy "
        f"{r['evaluator']['test_acc']:.4f}",
        "",
        "| variant | cond_acc | fid_lenet | fid_floor | coverage | kl_uniform | IS (real data) | s / epoch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v, m in r["results"].items():
        lines.append(
            f"| `{v}` | {ms(m['cond_acc'], 4)} | {ms(m['fid_lenet'], 2)} | {ms(m['fid_floor'], 2)} | "
            f"{ms(m['coverage'], 1)} | "
            f"{ms(m['kl_uniform'], 4)} | {ms(m['inception_score'], 2)} ({m['inception_score_real']['mean']:.2f}) | "
            f"{ms(m['seconds_per_epoch'], 1)} |"
        )
    t = r["epoch_timing"]
    runs = ", ".join(f"{x:.1f}" for x in t["runs_seconds"])
    lines += [
        "",
        f"One cDCGAN epoch ({t['images_per_epoch']} images) on {t['threads']} threads, machine otherwise idle: "
        f"{t['seconds_per_epoch']:.1f} s, "
        f"the median of {runs} s. "
        "The s / epoch column is per run, one thread each, two runs at a time.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
