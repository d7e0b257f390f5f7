"""Benchmark: every adaptation method on MNIST -> MNIST-M at one budget, seeds 0-2.

Each run is the real `advlab adapt --method NAME` in its own process (no copy of any
step), `--jobs` at a time with one thread each, seed by seed (a two-stage run queued once its
first stage has ended, so no worker waits) so that a partial benchmark
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
    python benchmarks/methods_mnist_mnistm.py --backbone ganin_bn   # the same on another backbone

Two-stage methods start from a finished run of the same seed (`dirtt` from `vada`, `shot`
from `source_only`) and train --stage2-epochs more; the table gives their total budget.
Every finished run's record (config.yaml, metrics.jsonl, summary.json: a few kB) is copied
to --records, which is committed, so a later sitting on another machine reuses it instead
of training again; only a two-stage run needs its first stage's checkpoint, so it runs in
the same sitting as that stage.

With `--launcher slurm` each run is a Slurm job through submitit, as in `advlab reproduce
--launcher slurm` (same run directories, so runs from either launcher are reused); the
tables are written once every job has ended (or, with --no-wait, by a later invocation).
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timezone
from pathlib import Path

from advlab.report.study import COMPARED_METHODS, REFINEMENTS
from common import machine, mean_std, write_report

HERE = Path(__file__).resolve().parent
# every method of the study's comparison (advlab.report.study), then the baselines' upper bound
METHODS = ("source_only", "dann", *COMPARED_METHODS, *REFINEMENTS, "target_only")
BASELINES = ("source_only", "target_only")
# a two-stage method -> the method whose finished run of the same seed it starts from (--init)
FIRST_STAGE = REFINEMENTS
RECORD_FILES = ("config.yaml", "metrics.jsonl", "summary.json")

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
    "vada": "0.977 (Shu et al. 2018, table 1, their 9-layer network, weights tuned on 1,000 labelled target images)",
    "dirtt": "0.989 (Shu et al. 2018, table 1, VADA + DIRT-T, same setting)",
    "mean_teacher": "-",
    "fixmatch": "-",
    "adamatch": "-",
    "shot": "-",
}
PIXEL_LEVEL = "PixelDA (Bousmalis et al. 2017) reports 0.982 with pixel-level adaptation (another model family)."


def run_epochs(method: str, args: argparse.Namespace) -> int:
    """The epochs of this method's own run (a two-stage method's second stage)."""
    return args.stage2_epochs if method in FIRST_STAGE else args.epochs


def save_record(out: Path, records: Path) -> None:
    """Copy a finished run's small files to the committed records (never over a record)."""
    target = records / out.name
    if (target / "summary.json").exists():
        return
    target.mkdir(parents=True, exist_ok=True)
    for name in RECORD_FILES:
        if (out / name).exists():
            (target / name).write_bytes((out / name).read_bytes())


def run_one(method: str, seed: int, args: argparse.Namespace, first_stage=None) -> dict:
    out = args.runs / f"{method}-s{seed}"
    if (args.records / out.name / "summary.json").exists():
        return {"method": method, "seed": seed, "reused": True}
    if (out / "summary.json").exists():
        save_record(out, args.records)
        return {"method": method, "seed": seed, "reused": True}
    init = []
    if method in FIRST_STAGE:
        if first_stage is not None:
            first_stage.result()  # the first stage of this seed, queued before this run
        source = args.runs / f"{FIRST_STAGE[method]}-s{seed}"
        if not (source / "summary.json").exists():
            print(f"{method}-s{seed}: skipped, its first stage {source} has no finished run here", flush=True)
            return {"method": method, "seed": seed, "reused": False, "returncode": None}
        init = ["--init", str(source)]
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
        str(run_epochs(method, args)),
        "--backbone",
        args.backbone,
        *init,
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
    if result.returncode == 0:
        save_record(out, args.records)
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

    def run(method: str, seed: int) -> Run:
        init = ["--init", str(args.runs / f"{FIRST_STAGE[method]}-s{seed}")] if method in FIRST_STAGE else []
        epochs = str(run_epochs(method, args))
        common = ("--seed", str(seed), "--epochs", epochs, "--backbone", args.backbone, *init, *subset)
        return Run(f"{method}-s{seed}", ("adapt", "--method", method, *common))

    # two-stage methods wait for their first stage: a second submission once the first has ended
    for stage in ([m for m in args.methods if m not in FIRST_STAGE], [m for m in args.methods if m in FIRST_STAGE]):
        runs = [run(m, s) for s in args.seeds for m in stage]
        if not runs:
            continue
        try:
            launched = launch(runs, args.runs, options, None, runs_dir=args.runs)
        except AdvlabError as e:
            raise SystemExit(f"methods_mnist_mnistm: {e}") from None
        if launched.in_queue:
            print(f"{len(launched.in_queue)} runs queued or running; run the same command again for the tables")
            return False
        for r in runs:
            if (args.runs / r.name / "summary.json").exists():
                save_record(args.runs / r.name, args.records)
    return True


def history_of(name: str, args: argparse.Namespace) -> list[dict]:
    """A run's metrics.jsonl from this machine's run directory, else from the committed records."""
    for folder in (args.runs, args.records):
        path = folder / name / "metrics.jsonl"
        if path.exists():
            return [json.loads(line) for line in path.read_text().splitlines()]
    return []


def collect(args: argparse.Namespace, previous: dict) -> dict:
    """A row per method from its finished runs; a method with fewer finished seeds here than in the
    previous results of the same budget keeps that row (marked with its invocation's machine)."""
    rows = {}
    for method in METHODS:
        finals, sources, epoch_seconds, seeds = [], [], [], []
        for seed in args.seeds:
            history = history_of(f"{method}-s{seed}", args)
            if len(history) != run_epochs(method, args):
                continue
            finals.append(history[-1]["target_acc"])
            sources.append(history[-1]["source_acc"])
            epoch_seconds.append(sum(h["train_seconds"] for h in history) / len(history))
            seeds.append(seed)
        if len(seeds) < len(previous.get(method, {}).get("seeds", [])):  # fewer here than before: keep those
            seeds = []
        if not seeds:
            if method in previous and method not in args.withdraw:
                machine_then = previous[method].get("machine", args.previous_machine)
                rows[method] = {**previous[method], "machine": machine_then, "from_previous": True}
            continue
        first = FIRST_STAGE.get(method)
        rows[method] = {
            "seeds": seeds,
            "epochs": f"{args.epochs} ({first}) + {args.stage2_epochs}" if first else str(args.epochs),
            "target_acc": finals,
            "source_acc": sources,
            "target_acc_mean_std": mean_std(finals),
            "source_acc_mean_std": mean_std(sources),
            "epoch_seconds": sum(epoch_seconds) / len(epoch_seconds),
            "published": PUBLISHED.get(method, "-"),
            "machine": args.machine["processor"],
        }
    dann = rows.get("dann", {})
    for row in rows.values():
        if row.get("from_previous"):
            continue  # its ratio is to the dann of its own invocation
        same = dann.get("epoch_seconds") and not dann.get("from_previous")
        row["epoch_time_vs_dann"] = row["epoch_seconds"] / dann["epoch_seconds"] if same else None
    return rows


def step_timing(methods: list[str], rounds: int = 7, steps: int = 20) -> dict:
    """Milliseconds per training step of each method, one thread, batches of 64 + 64 images,
    all methods in one process and interleaved round by round (so drift of the machine's speed
    hits all of them alike); the median over rounds. A step is what the trainer does per
    batch: the method's views (augmentations, VAT directions), its `train_step`, and
    `after_step` (EMA and teacher updates), with the method's own defaults (Adam, EMA). ADDA
    is timed in each of its stages."""
    import statistics

    import torch

    from advlab.backbones.ganin import GaninNet
    from advlab.methods import METHODS, Batch, StepInfo
    from advlab.runs.ema import WeightAverage
    from advlab.train.adapt import make_optimizer
    from advlab.train.config import AdaptConfig

    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    batch = Batch(
        torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (64,), generator=g),
        torch.randint(0, 256, (64, 3, 28, 28), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (64,), generator=g),
        torch.randint(0, 10, (64,), generator=g),  # pseudo-labels, for the methods that use them
    )
    target_images = torch.randint(0, 256, (640, 3, 28, 28), dtype=torch.uint8, generator=g)
    cases = {}
    for name in methods:
        stages = {"adda (stage 1: source)": 0, "adda (stage 2: adversarial)": 11} if name == "adda" else {name: 11}
        for label, epoch in stages.items():
            torch.manual_seed(0)
            cfg = AdaptConfig(method=name, **METHODS[name].defaults)
            method = METHODS[name](GaninNet(10, "per_image"), cfg)
            if cfg.ema_decay:
                method.average = WeightAverage(method.model, cfg.ema_decay)
            optimizers = method.optimizers(lambda params, cfg=cfg: make_optimizer(cfg, params))
            method.begin_epoch(epoch, target_images, torch.device("cpu"))
            cases[label] = (method, optimizers, StepInfo(0.5, epoch, 0.5))

    def step(method, optimizers, info, number: int) -> None:
        views = method.views(copy.copy(batch), torch.Generator().manual_seed(number))
        method.train_step(views, info, optimizers)
        method.after_step(number)

    times: dict[str, list[float]] = {label: [] for label in cases}
    for r in range(rounds):
        for label, (method, optimizers, info) in cases.items():
            step(method, optimizers, info, r * (steps + 1))  # warm-up
            started = time.perf_counter()
            for i in range(steps):
                step(method, optimizers, info, r * (steps + 1) + i + 1)
            times[label].append((time.perf_counter() - started) / steps * 1000)
    medians = {label: statistics.median(t) for label, t in times.items()}
    return {
        label: {"ms_per_step": round(m, 2), "vs_dann": round(m / medians["dann"], 3)} for label, m in medians.items()
    }


def fmt(ms: dict | None) -> str:
    return f"{ms['mean']:.4f} ± {ms['std']:.4f}" if ms else "–"


def short_machine(processor: str) -> str:
    return " ".join(processor.replace("(R)", "").split()[:2])


def markdown(report: dict) -> str:
    b = report["budget"]
    lines = [
        f"# Adaptation methods on MNIST → MNIST-M, backbone `{b.get('backbone', 'ganin')}`",
        "",
        f"Budget for every method: {b['epochs']} epochs over {b['train_subset'] or 'all'} training images per domain, "
        f"the `advlab adapt` defaults otherwise (SGD, lr 0.01 annealed, batch 64 per domain, λ ramp), "
        f"each method's own defaults above them (`advlab adapt --method NAME --help`: Adam 1e-3 at a constant rate "
        f"for vada, dirtt and mean_teacher; SGD 0.03 with weight decay 1e-3 for fixmatch and adamatch; weight "
        f"averages for vada, dirtt, fixmatch, adamatch); full test sets. "
        f"Two-stage methods start from the finished run of the same seed named in the epochs column and train "
        f"{b.get('stage2_epochs', '–')} epochs more. "
        f"Final-epoch accuracy (of the weights each method evaluates), mean ± std over the seeds listed; no target "
        f"label chooses anything. Time per epoch relative to `dann` measured on the same machine "
        + (
            "(runs as Slurm jobs: the ratios also carry the differences between the nodes they ran on)."
            if any(i.get("launcher") == "slurm" for i in report["invocations"])
            else "(runs two at a time, one thread each); rows from another machine keep the ratio to that "
            "machine's `dann`."
        ),
        "",
        "| method | seeds | epochs | target acc | source acc | epoch time vs dann | machine "
        "| published (their setting) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method, r in report["methods"].items():
        ratio = f"{r['epoch_time_vs_dann']:.2f}×" if r.get("epoch_time_vs_dann") else "–"
        lines.append(
            f"| `{method}` | {','.join(map(str, r['seeds'])) or '–'} | {r.get('epochs', b['epochs'])} | "
            f"{fmt(r['target_acc_mean_std'])} | {fmt(r['source_acc_mean_std'])} | {ratio} | "
            f"{short_machine(r['machine'])} | {r['published']} |"
        )
    timing_machine = report.get("step_timing_machine", report["machine"]["processor"])
    if report.get("step_timing"):
        lines += [
            "",
            "Training-step cost: what the trainer does per batch (the method's views, `train_step`, `after_step`), "
            "every method in one process, interleaved, one thread, 64 + 64 images, median of 7 rounds of 20 steps "
            f"(`step_timing` in the script), on {short_machine(timing_machine)}:",
            "",
            "| method | ms per step | vs dann |",
            "|---|---|---|",
        ]
        lines += [
            f"| `{label}` | {t['ms_per_step']:.1f} | {t['vs_dann']:.2f}× |"
            for label, t in report["step_timing"].items()
        ]
    lines += ["", PIXEL_LEVEL, ""]
    m = report["machine"]
    wall = sum(i["wall_minutes"] for i in report["invocations"])
    lines += [
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
    parser.add_argument("--backbone", default="ganin", help="the network of every run (default: ganin)")
    parser.add_argument(
        "--stage2-epochs",
        type=int,
        default=6,
        metavar="N",
        help="epochs of a two-stage method's second stage (dirtt after vada, shot after source_only; default: 6)",
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=Path, help="run directories (default: benchmarks/runs/NAME)")
    parser.add_argument("--records", type=Path, help="finished runs' records (default: beside --out, committed)")
    parser.add_argument("--out", type=Path, help="results (default: benchmarks/results/NAME)")
    parser.add_argument("--table-only", action="store_true", help="only rebuild the results from finished runs")
    parser.add_argument(
        "--withdraw",
        nargs="+",
        default=[],
        choices=METHODS,
        metavar="METHOD",
        help="drop these methods' rows of the previous results instead of keeping them until their runs are here "
        "(their defaults changed since: the old rows no longer describe the method)",
    )
    parser.add_argument(
        "--time-steps", action="store_true", help="with --table-only: time every method's step again (an idle machine)"
    )
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
    # NAME: methods_mnist_mnistm, with _BACKBONE after it for another backbone than ganin
    name = "methods_mnist_mnistm" + ("" if args.backbone == "ganin" else f"_{args.backbone}")
    args.runs = args.runs or HERE / "runs" / name
    args.out = args.out or HERE / "results" / name
    args.records = args.records or args.out.parent / f"{args.out.name}_records"
    args.machine = machine()

    started = time.perf_counter()
    if not args.table_only and args.launcher == "slurm":
        if not on_slurm(args):
            return 0  # submitted without waiting
    elif not args.table_only:
        # seed by seed; a two-stage run is queued once its first stage has ended, so that no
        # worker sits waiting for one (a queued second stage blocking its worker halved the pool)
        with ThreadPoolExecutor(args.jobs) as pool:
            futures, waiting = {}, {}
            for seed in args.seeds:
                for method in args.methods:
                    first = FIRST_STAGE.get(method)
                    if first in args.methods:
                        waiting[method, seed] = (first, seed)
                    else:
                        futures[method, seed] = pool.submit(run_one, method, seed, args, None)
            firsts = {futures[key]: key for key in set(waiting.values())}
            for done in as_completed(firsts):
                for (method, seed), key in waiting.items():
                    if key == firsts[done]:
                        futures[method, seed] = pool.submit(run_one, method, seed, args, done)
            for future in futures.values():
                future.result()
    wall = (time.perf_counter() - started) / 60
    previous = json.loads(args.out.with_suffix(".json").read_text()) if args.out.with_suffix(".json").exists() else {}
    budget = {
        "epochs": args.epochs,
        "train_subset": args.train_subset,
        "seeds": args.seeds,
        "backbone": args.backbone,
        "stage2_epochs": args.stage2_epochs,
    }
    same_budget = previous.get("budget") is not None and all(
        previous["budget"].get(k, {"backbone": "ganin"}.get(k, budget[k])) == v for k, v in budget.items()
    )
    if not same_budget:
        previous = {}
    args.previous_machine = previous.get("machine", {}).get("processor", "unknown")
    invocations = previous.get("invocations", [])
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
        "machine": args.machine,
        "methods": collect(args, previous.get("methods", {})),
    }
    if (args.table_only and not args.time_steps) or args.keep_step_timing:
        report["step_timing"] = previous.get("step_timing")
        report["step_timing_machine"] = previous.get("step_timing_machine", args.previous_machine)
    else:
        report["step_timing"] = step_timing(list(METHODS))
        report["step_timing_machine"] = args.machine["processor"]
    write_report(report, args.out, markdown)
    figure(report, args.out.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
