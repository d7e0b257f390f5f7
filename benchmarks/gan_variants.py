"""Benchmark: the GAN remedies against what plain DCGAN gets wrong, 3 seeds.

Three groups, each against its own plain baseline:
- MNIST, unconditional (5 epochs): DCGAN with and without each remedy (packing, spectral
  norm, hinge loss, both): class coverage, KL of the class histogram, LeNet-Fréchet distance;
- MNIST, conditional (10 epochs): cDCGAN with the hinge loss, spectral norm, a projection
  D: conditional accuracy and Fréchet distance against the real-data floor;
- Stacked-MNIST, unconditional (5 epochs): DCGAN against packed D's: modes hit among the
  protocol's 26,000 samples, KL of the mode histogram;
- MNIST, unconditional, another game (5 epochs): WGAN-GP (gan/games/wgan_gp.py) against
  DCGAN, and WGAN-GP without its penalty (an unconstrained critic, the failure the penalty
  prevents): the same metrics, whether the game's collapse rule fires on the run's log, and the critic's
  smallest gap D(x) - D(G(z)) over the last 200 iterations (what WGAN-GP's collapse rule
  reads). Written apart: `--groups wasserstein --out benchmarks/results/gan_games`.

Each run is the real `advlab gan` in its own process, `--jobs` at a time with one thread
each, seed by seed (a group that names more threads runs afterwards, one run at a time);
finished runs are reused and unfinished ones resumed. Metrics are the
final epoch's; epoch time is relative to the group's baseline in this invocation. Writes
benchmarks/results/gan_variants.{json,md}.

    python benchmarks/gan_variants.py                                  # everything, seeds 0-2
    python benchmarks/gan_variants.py --groups stacked --seeds 0       # one group, one seed
    python benchmarks/gan_variants.py --epochs 1 --train-subset 2000 --seeds 0 --runs /tmp/gv   # smoke
    python benchmarks/gan_variants.py --table-only
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from common import machine, mean_std, write_report

HERE = Path(__file__).resolve().parent

GROUPS = {
    "unconditional": {
        "title": "MNIST, unconditional",
        "epochs": 5,
        "dataset": "mnist",
        "eval_samples": 10000,
        "metrics": ("coverage", "kl_uniform", "fid_lenet"),
        "configs": {
            "dcgan": ("--variant", "unconditional"),
            "+ pack 2 (pacgan2)": ("--variant", "pacgan2"),
            "+ pack 4": ("--variant", "unconditional", "--pack", "4"),
            "+ spectral norm": ("--variant", "unconditional", "--spectral-norm"),
            "+ hinge": ("--variant", "unconditional", "--loss", "hinge"),
            "+ spectral norm + hinge (sngan)": ("--variant", "sngan"),
        },
    },
    "conditional": {
        "title": "MNIST, conditional",
        "epochs": 10,
        "dataset": "mnist",
        "eval_samples": 10000,
        "metrics": ("cond_acc", "fid_lenet", "fid_floor"),
        "configs": {
            "cdcgan": ("--variant", "conditional"),
            "+ hinge": ("--variant", "conditional", "--loss", "hinge"),
            "+ spectral norm": ("--variant", "conditional", "--spectral-norm"),
            "projection D (+ sn + hinge)": ("--variant", "projection"),
        },
    },
    "wider": {  # the budget for the conditional target: both cores, an epoch of at most 60 s
        "title": "MNIST, conditional, wider nets (channels of G / D at 14×14: wider 48 / 32, widest 64 / 48), "
        "both cores, one run at a time",
        "epochs": 10,
        "dataset": "mnist",
        "eval_samples": 10000,
        "threads": 2,
        "metrics": ("cond_acc", "fid_lenet", "fid_floor"),
        "configs": {
            "projection D (+ sn + hinge), wider": ("--variant", "projection", "--g-width", "48", "--d-width", "32"),
            "projection D (+ sn + hinge), widest": ("--variant", "projection", "--g-width", "64", "--d-width", "48"),
        },
    },
    "longer": {  # what the conditional target lacks at 10 epochs: more of them (width did not help)
        "title": "MNIST, conditional, longer, both cores, one run at a time",
        "epochs": 15,
        "dataset": "mnist",
        "eval_samples": 10000,
        "threads": 2,
        "metrics": ("cond_acc", "fid_lenet", "fid_floor"),
        "configs": {
            "projection D (+ sn + hinge)": ("--variant", "projection"),
        },
    },
    "wasserstein": {
        "title": "MNIST, unconditional, the Wasserstein game (an epoch is a pass over the images: a WGAN-GP "
        "iteration takes 5 batches, so it makes a fifth of DCGAN's G steps)",
        "epochs": 5,
        "dataset": "mnist",
        "eval_samples": 10000,
        "metrics": ("coverage", "kl_uniform", "fid_lenet", "collapse_warning", "critic_gap_min200"),
        "configs": {
            "dcgan": ("--variant", "unconditional"),
            "wgan_gp": ("--variant", "wgan_gp"),
            "wgan_gp without the penalty (--gp-weight 0)": ("--variant", "wgan_gp", "--gp-weight", "0"),
        },
    },
    "stacked": {
        "title": "Stacked-MNIST, unconditional",
        "epochs": 5,
        "dataset": "stacked_mnist",
        "eval_samples": 26000,
        "metrics": ("modes", "kl_modes"),
        "configs": {
            "dcgan": ("--variant", "unconditional"),
            "pacgan2": ("--variant", "pacgan2"),
            "pack 4": ("--variant", "unconditional", "--pack", "4"),
        },
    },
}
ANCHORS = (
    "PacGAN table 2 (VEEGAN setup, another network): DCGAN 78.9–99 modes, KL 3.4–4.5; PacDCGAN2 1000 modes, KL 0.06."
)


def slug(group: str, config: str) -> str:
    return group + "-" + "".join(c if c.isalnum() else "_" for c in config).strip("_").replace("__", "_")


def run_one(group: str, config: str, seed: int, args: argparse.Namespace) -> None:
    g = GROUPS[group]
    name = f"{slug(group, config)}-s{seed}"
    out = args.runs / name
    if (out / "summary.json").exists():
        return
    epochs = args.epochs or g["epochs"]
    cmd = [
        sys.executable,
        "-m",
        "advlab.cli",
        "gan",
        *g["configs"][config],
        "--dataset",
        g["dataset"],
        "--seed",
        str(seed),
        "--epochs",
        str(epochs),
        "--eval-samples",
        str(g["eval_samples"]),
        "--threads",
        str(g.get("threads", 1)),
        "--quiet",
        "--out",
        str(out),
    ]
    cmd += ["--train-subset", str(args.train_subset)] if args.train_subset else []
    cmd += ["--resume"] if out.exists() else []
    started = time.perf_counter()
    with open(args.runs / f"{name}.log", "a") as log:
        result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    print(
        f"{name}: {'done' if result.returncode == 0 else f'FAILED (exit {result.returncode})'} in "
        f"{(time.perf_counter() - started) / 60:.1f} min",
        flush=True,
    )


INPUTS = {"mnist": 28 * 28, "stacked_mnist": 3 * 28 * 28}  # values in one image: what a collapse rule is told


def with_game_readings(summary: dict, run_dir: Path) -> dict:
    """The summary plus what its losses.csv says of the game: 1 if the game's collapse rule,
    as the code has it now, fires anywhere in the run's log (replayed row by row, so a rule
    changed after the runs is measured on them too), else 0; and the smallest D(x) - D(G(z))
    of its last 200 rows (for a critic, what the rule reads; for a D with a sigmoid, a gap of
    probabilities)."""
    from advlab.gan.games import COLLAPSE_WINDOW, GAMES

    with open(run_dir / "losses.csv") as f:
        rows = [[float(r[k]) for k in ("loss_d", "loss_g", "d_x", "d_g_z")] for r in csv.DictReader(f)]
    game, inputs = GAMES[summary["loss"]](), summary.get("pack", 1) * INPUTS.get(summary["dataset"], 28 * 28)
    fires = any(game.collapse(rows[max(0, i - COLLAPSE_WINDOW) : i], inputs) for i in range(1, len(rows) + 1))
    last = rows[-200:]
    return summary | {
        "collapse_warning": float(fires),
        "critic_gap_min200": min(r[2] - r[3] for r in last) if last else None,
    }


def collect(args: argparse.Namespace) -> dict:
    out = {}
    for group in args.groups:
        g = GROUPS[group]
        rows = {}
        for config in g["configs"]:
            summaries = [
                with_game_readings(json.loads(p.read_text()), p.parent)
                for seed in args.seeds
                if (p := args.runs / f"{slug(group, config)}-s{seed}" / "summary.json").exists()
            ]
            rows[config] = {
                "seeds": [s["seed"] for s in summaries],
                **{m: mean_std([s[m] for s in summaries if s.get(m) is not None]) for m in g["metrics"]},
                "per_seed": {m: [s.get(m) for s in summaries] for m in g["metrics"]},
                "seconds_per_epoch": mean_std([s["seconds_per_epoch"] for s in summaries]),
            }
        base = rows[next(iter(g["configs"]))]["seconds_per_epoch"]
        for row in rows.values():
            row["epoch_time_vs_baseline"] = (
                row["seconds_per_epoch"]["mean"] / base["mean"] if base and row["seconds_per_epoch"] else None
            )
        out[group] = {
            "title": g["title"],
            "epochs": args.epochs or g["epochs"],
            "metrics": g["metrics"],
            "configs": rows,
            "threads": g.get("threads", 1),
        }
    return out


def fmt(stat: dict | None, digits: int = 3) -> str:
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}" if stat else "–"


def markdown(report: dict) -> str:
    lines = [
        "# GAN games: WGAN-GP against DCGAN"
        if [*report["groups"]] == ["wasserstein"]
        else "# GAN remedies against plain DCGAN's failures",
        "",
        f"Final-epoch metrics, mean ± std over the seeds listed; {report['budget']['train_subset'] or 'all'} training "
        "images; "
        "epoch time relative to the group's first row, in this invocation (runs two at a time, one thread each, "
        "unless the group says otherwise).",
        "",
    ]
    for group in report["groups"].values():
        metrics = list(group["metrics"])
        lines += [
            f"## {group['title']}, {group['epochs']} epochs",
            "",
            "| variant | seeds | " + " | ".join(metrics) + " | s / epoch | vs baseline |",
            "|---" * (len(metrics) + 4) + "|",
        ]
        for config, r in group["configs"].items():
            ratio = f"{r['epoch_time_vs_baseline']:.2f}×" if r["epoch_time_vs_baseline"] else "–"
            lines.append(
                f"| {config} | {','.join(map(str, r['seeds'])) or '–'} | "
                + " | ".join(fmt(r[m], 1 if m in ("fid_lenet", "fid_floor", "modes") else 3) for m in metrics)
                + f" | {fmt(r['seconds_per_epoch'], 1)} | {ratio} |"
            )
        lines.append("")
    m = report["machine"]
    wall = sum(i["wall_minutes"] for i in report["invocations"])
    lines += [
        ANCHORS,
        "",
        f"Benchmark wall time: {wall:.1f} min over {len(report['invocations'])} invocation(s); "
        f"{m['processor']}, {m['cpu_count']} cores, torch {m['torch']}.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", nargs="+", default=list(GROUPS), choices=GROUPS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=0, help="override every group's epochs (smoke runs)")
    parser.add_argument("--train-subset", type=int, default=0, help="training images; 0: all")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=HERE / "runs" / "gan_variants")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "gan_variants")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    if not args.table_only:
        args.runs.mkdir(parents=True, exist_ok=True)
        jobs = [
            (group, config, seed) for seed in args.seeds for group in args.groups for config in GROUPS[group]["configs"]
        ]
        shared = [j for j in jobs if GROUPS[j[0]].get("threads", 1) == 1]
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda job: run_one(*job, args), shared))
        for job in (
            j for j in jobs if j not in shared
        ):  # a group on every core runs alone, so its epoch time is its own
            run_one(*job, args)
    previous = json.loads(args.out.with_suffix(".json").read_text()) if args.out.with_suffix(".json").exists() else {}
    budget = {"epochs": args.epochs or None, "train_subset": args.train_subset, "seeds": args.seeds}
    invocations = previous.get("invocations", []) if previous.get("budget") == budget else []
    if not args.table_only:
        invocations.append(
            {
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "wall_minutes": round((time.perf_counter() - started) / 60, 2),
            }
        )
    report = {
        "benchmark": "gan_variants",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "budget": budget,
        "invocations": invocations,
        "machine": machine(),
        "groups": collect(args),
    }
    write_report(report, args.out, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
