"""Benchmark: every adaptation method on MNIST -> MNIST-M at one budget, seeds 0-2.

Each run is the real `advlab adapt --method NAME` in its own process (no copy of any
step), `--jobs` at a time with one thread each, seed by seed so that a partial benchmark
still compares every method. Finished runs are reused and unfinished ones resumed, so the
script can be stopped and started again. Accuracy is the **final epoch's** (no target
label chooses anything); time per epoch is each method's mean training seconds per epoch
divided by `dann`'s from the same invocation (runs share the machine two at a time, so
the ratios carry that noise). Writes benchmarks/results/methods_mnist_mnistm.{json,md,png}.

    python benchmarks/methods_mnist_mnistm.py                       # advlab adapt's defaults: all images, 12 epochs
    python benchmarks/methods_mnist_mnistm.py --seeds 0 --epochs 1 --train-subset 2000   # smoke
    python benchmarks/methods_mnist_mnistm.py --table-only          # rebuild the tables from finished runs
    python benchmarks/methods_mnist_mnistm.py --keep-step-timing    # finish missing runs on a busy machine
    python benchmarks/methods_mnist_mnistm.py --launcher slurm --cpus-per-run 2 --time-limit 120  # a Slurm job each

With `--launcher slurm` each run is a Slurm job through submitit, as in `advlab reproduce
--launcher slurm` (same run directories, so runs from either launcher are reused); the
tables are written once every job has ended (or, with --no-wait, by a later invocation).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from common import machine, mean_std, write_report

HERE = Path(__file__).resolve().parent
METHODS = ("source_only", "dann", "cdan", "cdan_e", "dan", "coral", "mcc", "mdd", "mcd", "adda", "target_only")
BASELINES = ("source_only", "target_only")

# Published MNIST -> MNIST-M target accuracies, with their setting (none is this budget).
PUBLISHED = {
    "source_only": "0.523 (Ganin et al. 2016, table 2, their network)",
    "dann": "0.767 (Ganin et al. 2016, table 2); 0.815 (Ganin & Lempitsky 2015)",
    "target_only": "0.956 (Ganin et al. 2016, table 2, train on target)",
    "cdan": "0.684 (criteo pytorch-ada, one default config for all methods)",
    "cdan_e": "0.696 (criteo pytorch-ada, same setting)",
    "dan": "0.470 (criteo pytorch-ada, same setting)",
    "coral": "-",
    "mcc": "-",
    "mdd": "-",
    "mcd": "-",
    "adda": "-",
}
PIXEL_LEVEL = "PixelDA (Bousmalis et al. 2017) reports 0.982 with pixel-level adaptation (another model family)."


def run_one(method: str, seed: int, args: argparse.Namespace) -> dict:
    out = args.runs / f"{method}-s{seed}"
    if (out / "summary.json").exists():
        return {"method": method, "seed": seed, "reused": True}
    cmd = [
        sys.executable,
        "-m",
        "advlab.cli",
        "adapt",
        "--method",
        method,
        "--seed",
        str(seed),
        "--epochs",
        str(args.epochs),
        "--threads",
        "1",
        "--quiet",
        "--out",
        str(out),
    ]
    if args.train_subset:
        cmd += ["--train-subset", str(args.train_subset)]
    if (out / "last.pt").exists():
        cmd.append("--resume")
    args.runs.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(args.runs / f"{method}-s{seed}.log", "a") as log:
        result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    print(
        f"{method}-s{seed}: {'done' if result.returncode == 0 else f'FAILED (exit {result.returncode}, see its log)'} "
        f"in {(time.perf_counter() - started) / 60:.1f} min",
        flush=True,
    )
    return {"method": method, "seed": seed, "reused": False, "returncode": result.returncode}


def on_slurm(args: argparse.Namespace) -> bool:
    """Every run as a Slurm job (the launcher of `advlab reproduce --launcher slurm`); True
    once all have ended, False if submitted without waiting."""
    from advlab.errors import AdvlabError
    from advlab.report.slurm import SlurmOptions, environment_problem, launch
    from advlab.report.study import Run

    options = SlurmOptions(
        partition=args.partition,
        time_limit_min=args.time_limit,
        cpus_per_run=args.cpus_per_run,
        gpus_per_run=args.gpus_per_run,
        array_limit=args.array_limit,
        wait=not args.no_wait,
    )
    problem = options.problem() or environment_problem()
    if problem:
        raise SystemExit(f"methods_mnist_mnistm: {problem}")
    subset = ["--train-subset", str(args.train_subset)] if args.train_subset else []
    runs = [
        Run(f"{m}-s{s}", ("adapt", "--method", m, "--seed", str(s), "--epochs", str(args.epochs), *subset))
        for s in args.seeds
        for m in args.methods
    ]
    try:
        launched = launch(runs, args.runs, options, None, runs_dir=args.runs)
    except AdvlabError as e:
        raise SystemExit(f"methods_mnist_mnistm: {e}") from None
    if launched.in_queue:
        print(f"{len(launched.in_queue)} runs queued or running; run the same command again for the tables")
        return False
    return True


def collect(args: argparse.Namespace) -> dict:
    rows = {}
    for method in args.methods:
        finals, sources, epoch_seconds, seeds = [], [], [], []
        for seed in args.seeds:
            path = args.runs / f"{method}-s{seed}" / "metrics.jsonl"
            history = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
            if len(history) != args.epochs:
                continue
            finals.append(history[-1]["target_acc"])
            sources.append(history[-1]["source_acc"])
            epoch_seconds.append(sum(h["train_seconds"] for h in history) / len(history))
            seeds.append(seed)
        rows[method] = {
            "seeds": seeds,
            "target_acc": finals,
            "source_acc": sources,
            "target_acc_mean_std": mean_std(finals) if finals else None,
            "source_acc_mean_std": mean_std(sources) if sources else None,
            "epoch_seconds": sum(epoch_seconds) / len(epoch_seconds) if epoch_seconds else None,
            "published": PUBLISHED.get(method, "-"),
        }
    dann = rows.get("dann", {}).get("epoch_seconds")
    for row in rows.values():
        row["epoch_time_vs_dann"] = row["epoch_seconds"] / dann if dann and row["epoch_seconds"] else None
    return rows


def step_timing(methods: list[str], rounds: int = 7, steps: int = 20) -> dict:
    """Milliseconds per training step of each method's real `train_step`, one thread, batches
    of 64 + 64 images, all methods in one process and interleaved round by round (so drift of
    the machine's speed hits all of them alike); the median over rounds. ADDA is timed in
    each of its stages."""
    import statistics

    import torch

    from advlab.backbones.ganin import GaninNet
    from advlab.methods import METHODS, Batch, StepInfo
    from advlab.train.config import AdaptConfig

    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    batch = Batch(
        torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (64,), generator=g),
        torch.randint(0, 256, (64, 3, 28, 28), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (64,), generator=g),
    )
    cases = {}
    for name in methods:
        stages = {"adda (stage 1: source)": 0, "adda (stage 2: adversarial)": 11} if name == "adda" else {name: 11}
        for label, epoch in stages.items():
            torch.manual_seed(0)
            method = METHODS[name](GaninNet(10, "per_image"), AdaptConfig(method=name))
            optimizers = method.optimizers(lambda params: torch.optim.SGD(params, lr=0.001, momentum=0.9))
            cases[label] = (method, optimizers, StepInfo(0.5, epoch))
    times: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(rounds):
        for label, (method, optimizers, info) in cases.items():
            method.train_step(batch, info, optimizers)  # warm-up
            started = time.perf_counter()
            for _ in range(steps):
                method.train_step(batch, info, optimizers)
            times[label].append((time.perf_counter() - started) / steps * 1000)
    medians = {label: statistics.median(t) for label, t in times.items()}
    return {
        label: {"ms_per_step": round(m, 2), "vs_dann": round(m / medians["dann"], 3)} for label, m in medians.items()
    }


def fmt(ms: dict | None) -> str:
    return f"{ms['mean']:.4f} ± {ms['std']:.4f}" if ms else "–"


def markdown(report: dict) -> str:
    b = report["budget"]
    lines = [
        "# Adaptation methods on MNIST → MNIST-M",
        "",
        f"Budget for every method: {b['epochs']} epochs over {b['train_subset'] or 'all'} training images per domain, "
        f"the `advlab adapt` defaults otherwise (SGD, lr 0.01 annealed, batch 64 per domain, λ ramp); full test sets. "
        f"Final-epoch accuracy, mean ± std over the seeds listed; no target label chooses anything. "
        f"Time per epoch relative to `dann` in this invocation "
        + (
            "(runs as Slurm jobs: the ratios also carry the differences between the nodes they ran on)."
            if any(i.get("launcher") == "slurm" for i in report["invocations"])
            else "(runs two at a time, one thread each)."
        ),
        "",
        "| method | seeds | target acc | source acc | epoch time vs dann | published (their setting) |",
        "|---|---|---|---|---|---|",
    ]
    for method, r in report["methods"].items():
        ratio = f"{r['epoch_time_vs_dann']:.2f}×" if r["epoch_time_vs_dann"] else "–"
        lines.append(
            f"| `{method}` | {','.join(map(str, r['seeds'])) or '–'} | {fmt(r['target_acc_mean_std'])} | "
            f"{fmt(r['source_acc_mean_std'])} | {ratio} | {r['published']} |"
        )
    m = report["machine"]
    wall = sum(i["wall_minutes"] for i in report["invocations"])
    if report.get("step_timing"):
        lines += [
            "",
            "Training-step cost, each method's real `train_step` timed in one process, interleaved, one thread, "
            "64 + 64 images, median of 7 rounds of 20 steps (`step_timing` in the script):",
            "",
            "| method | ms per step | vs dann |",
            "|---|---|---|",
        ]
        lines += [
            f"| `{label}` | {t['ms_per_step']:.1f} | {t['vs_dann']:.2f}× |"
            for label, t in report["step_timing"].items()
        ]
    lines += [
        "",
        PIXEL_LEVEL,
        "",
        f"Benchmark wall time: {wall:.1f} min over {len(report['invocations'])} invocation(s); "
        f"{m['processor']}, {m['cpu_count']} cores, torch {m['torch']}.",
        "",
    ]
    return "\n".join(lines)


def figure(report: dict, path: Path) -> None:
    from advlab.viz.adaptation import plot_method_comparison

    b = report["budget"]
    accuracies = {m: r["target_acc"] for m, r in report["methods"].items()}
    plot_method_comparison(
        accuracies,
        BASELINES,
        f"MNIST → MNIST-M, {b['epochs']} epochs, {b['train_subset'] or 'all'} images/domain (dots: seeds)",
        path,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12, help="epochs per run (default: advlab adapt's 12)")
    parser.add_argument("--train-subset", type=int, default=0, help="training images per domain; 0: all (the default)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=HERE / "runs" / "methods_mnist_mnistm")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "methods_mnist_mnistm")
    parser.add_argument("--table-only", action="store_true", help="only rebuild the results from finished runs")
    parser.add_argument(
        "--launcher",
        choices=("local", "slurm"),
        default="local",
        help="local: --jobs runs here; slurm: one Slurm job per run (pip install 'advlab[cluster]')",
    )
    parser.add_argument("--partition", help="slurm: partition (default: the cluster's)")
    parser.add_argument(
        "--time-limit", type=int, default=240, metavar="MIN", help="slurm: minutes per job (default: 240)"
    )
    parser.add_argument(
        "--cpus-per-run",
        type=int,
        default=2,
        metavar="N",
        help="slurm: CPUs per job and the run's threads (default: 2)",
    )
    parser.add_argument("--gpus-per-run", type=int, default=0, metavar="N", help="slurm: GPUs per job (default: 0)")
    parser.add_argument(
        "--array-limit", type=int, default=64, metavar="N", help="slurm: jobs of one submission at once (default: 64)"
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="slurm: submit and return; run again later for the tables"
    )
    parser.add_argument(
        "--keep-step-timing",
        action="store_true",
        help="keep the step timings of the last results instead of timing again (they need an idle machine)",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    if not args.table_only and args.launcher == "slurm":
        if not on_slurm(args):
            return 0  # submitted without waiting
    elif not args.table_only:
        jobs = [(m, s) for s in args.seeds for m in args.methods]
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda job: run_one(*job, args), jobs))
    wall = (time.perf_counter() - started) / 60
    previous = json.loads(args.out.with_suffix(".json").read_text()) if args.out.with_suffix(".json").exists() else {}
    budget = {"epochs": args.epochs, "train_subset": args.train_subset, "seeds": args.seeds}
    invocations = previous.get("invocations", []) if previous.get("budget") == budget else []
    if not args.table_only:
        invocations.append(
            {
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "wall_minutes": round(wall, 2),
                "launcher": args.launcher,
            }
        )
    report = {
        "benchmark": "methods_mnist_mnistm",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "budget": budget,
        "invocations": invocations,
        "machine": machine(),
        "methods": collect(args),
        "step_timing": previous.get("step_timing")
        if args.table_only or args.keep_step_timing
        else step_timing(list(args.methods)),
    }
    write_report(report, args.out, markdown)
    figure(report, args.out.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
