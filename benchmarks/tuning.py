"""Benchmark: tuning without target labels (issue 22), per pair and per method.

For each pair (MNIST -> MNIST-M, and the two small-target pairs of benchmarks/small_target.py)
and each adaptation method, one real `advlab tune --methods METHOD` (source_only always a
candidate, so the answer may be "do not adapt"): --trials short trials scored by the label-free
objective, the choice by --by, and the choice rerun at `advlab adapt`'s default budget for
seeds 0..K-1 (--reproduce-seeds). From each study's trials.json it also reads which trial every
other candidate objective (each validator, EnsV) would have picked, at the trial budget, and,
for analysis only, the oracle's pick (the best target test accuracy; nothing chooses by it).
The overall choice on a pair is the per-method choice whose reruns score highest by the
objective (label-free). The default setting's accuracy beside it comes from the committed
results of methods_mnist_mnistm.py and small_target.py (same budget as the reruns: say so).

Each study is its own folder under --runs and resumes (Optuna's storage, finished reruns
reused); its trials.json and best.yaml are copied to the committed records
(benchmarks/results/tuning_records/), so a later sitting on another machine reads them
instead of tuning again. Writes benchmarks/results/tuning.{json,md,png}.

    python benchmarks/tuning.py                                     # every pair and method: hours
    python benchmarks/tuning.py --pairs mnist-to-mnist_m --methods mcc dann
    python benchmarks/tuning.py --trials 2 --trial-epochs 1 --trial-subset 300 --reproduce-seeds 0  # smoke
    python benchmarks/tuning.py --table-only
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from common import machine, write_report

HERE = Path(__file__).resolve().parent
# the adaptation methods compared at the default budget (methods_mnist_mnistm.py), all tunable
METHODS = ("dann", "cdan", "cdan_e", "dan", "coral", "mcc", "mdd", "mcd", "adda")
PAIRS = ("mnist-to-mnist_m", "small:mnist->mnist_m", "small:mnist_m->mnist")
RECORD_FILES = ("trials.json", "best.yaml")


def pair_domains(pair: str, args: argparse.Namespace) -> tuple[str, str]:
    """--source and --target of a pair: built-in names, or the small-target .npz files."""
    if pair == "mnist-to-mnist_m":
        return "mnist", "mnist_m"
    from small_target import PAIRS as SMALL
    from small_target import SOURCE_IMAGES, TARGET_IMAGES, write_domain

    source, source_start, target, target_start = SMALL[pair.removeprefix("small:")]
    folder = args.runs / "domains"
    src = write_domain(folder / f"{source}-{SOURCE_IMAGES}.npz", source, source_start, SOURCE_IMAGES, args.data_dir)
    tgt = write_domain(
        folder / f"{target}-{TARGET_IMAGES}-from{target_start}.npz", target, target_start, TARGET_IMAGES, args.data_dir
    )
    return str(src), str(tgt)


def folder_name(pair: str) -> str:
    return pair.replace(":", "-").replace("->", "-to-")


def finished(study: Path, args: argparse.Namespace) -> dict | None:
    """A study's trials.json if it holds every trial and the reruns asked for (else None)."""
    path = study / "trials.json"
    if not path.exists():
        return None
    result = json.loads(path.read_text())
    done = sum(r["state"] in ("complete", "pruned", "failed") for r in result["rows"]) >= args.trials
    rerun = args.reproduce_seeds == 0 or len(result.get("reproduce", {}).get("seeds", [])) == args.reproduce_seeds
    return result if done and rerun else None


def tune_one(pair: str, method: str, args: argparse.Namespace) -> None:
    name = f"{folder_name(pair)}/{method}"
    record = args.records / name
    if finished(record, args) is not None:
        return
    study = args.runs / name
    if finished(study, args) is None:
        source, target = pair_domains(pair, args)
        cmd = [sys.executable, "-m", "advlab.cli", "tune", "--methods", method, "--source", source, "--target", target]
        cmd += ["--trials", str(args.trials), "--trial-epochs", str(args.trial_epochs)]
        cmd += ["--trial-subset", str(args.trial_subset), "--by", args.by, "--threads", "1", "--quiet"]
        cmd += ["--reproduce-seeds", str(args.reproduce_seeds), "--out", str(study)]
        study.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with open(study.parent / f"{method}.log", "a") as log:
            code = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
        said = "done" if code == 0 else f"FAILED (exit {code}, see {study.parent / f'{method}.log'})"
        print(f"{name}: {said} in {(time.perf_counter() - started) / 60:.1f} min", flush=True)
        if finished(study, args) is None:
            return
    record.mkdir(parents=True, exist_ok=True)
    for file in RECORD_FILES:
        if (study / file).exists():
            (record / file).write_bytes((study / file).read_bytes())


def default_one(pair: str, method: str, seed: int, args: argparse.Namespace) -> float | None:
    """A small-target pair's default-setting run at the reruns' budget (its final target accuracy):
    small_target.py's own runs are at 4 epochs, the reruns at adapt's default. Reused from the
    records (a line of defaults.jsonl) or the run directory."""
    name = f"{method}-s{seed}"
    records = args.records / folder_name(pair) / "defaults.jsonl"
    if records.exists():
        for line in records.read_text().splitlines():
            row = json.loads(line)
            if row["run"] == name:
                return row["target_acc"]
    if args.table_only:
        return None
    source, target = pair_domains(pair, args)
    out = args.runs / folder_name(pair) / "default" / name
    if not (out / "summary.json").exists():
        cmd = [sys.executable, "-m", "advlab.cli", "adapt", "--method", method, "--source", source, "--target", target]
        cmd += ["--seed", str(seed), "--threads", "1", "--quiet", "--out", str(out)]
        cmd += ["--resume"] if (out / "last.pt").exists() else []
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out.parent / f"{name}.log", "a") as log:
            if subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode != 0:
                print(f"{folder_name(pair)} default {name}: FAILED (see its log)", flush=True)
                return None
    accuracy = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["target_acc"]
    records.parent.mkdir(parents=True, exist_ok=True)
    with open(records, "a") as f:
        f.write(json.dumps({"run": name, "target_acc": accuracy}) + "\n")
    return accuracy


def default_accuracy(pair: str, method: str, args: argparse.Namespace, committed: dict) -> float | None:
    """The default setting's mean final accuracy over the rerun seeds at the reruns' budget."""
    if pair == "mnist-to-mnist_m":
        return committed.get(pair, {}).get(method)
    found = [default_one(pair, method, seed, args) for seed in range(max(1, args.reproduce_seeds))]
    found = [a for a in found if a is not None]
    return statistics.fmean(found) if found else None


def picks(result: dict) -> dict[str, dict]:
    """The trial each candidate objective would pick among the finished, undegenerate trials (at
    the trial budget), and the oracle's (analysis only)."""
    rows = [r for r in result["rows"] if r["state"] == "complete" and not r.get("degenerate")]
    found = {}
    objectives = sorted({v for r in rows for v in r["scores"]})
    for objective in objectives:
        scored = [r for r in rows if r["scores"].get(objective) is not None]
        if scored:
            found[objective] = max(scored, key=lambda r: r["scores"][objective])
    if result.get("by") == "ensv" and result.get("best"):
        found["ensv"] = result["best"]
    with_acc = [r for r in rows if r.get("target_acc_analysis_only") is not None]
    if with_acc:
        found["oracle (analysis only)"] = max(with_acc, key=lambda r: r["target_acc_analysis_only"])
    return {
        k: {"trial": r["number"], "method": r["method"], "target_acc": r["target_acc_analysis_only"]}
        for k, r in found.items()
    }


def defaults() -> dict[str, dict[str, float]]:
    """MNIST -> MNIST-M's default-setting final accuracy per method, from the committed results of
    methods_mnist_mnistm.py (12 epochs, all images, seeds 0-2: the reruns' budget)."""
    methods = HERE / "results" / "methods_mnist_mnistm.json"
    if not methods.exists():
        return {}
    rows = json.loads(methods.read_text())["methods"]
    mean = {m: r["target_acc_mean_std"]["mean"] for m, r in rows.items() if r.get("target_acc_mean_std")}
    return {"mnist-to-mnist_m": mean}


def scorecard(pairs: dict) -> dict:
    """Over every finished study: how far each objective's pick falls short of the oracle's trial
    (trial budget; the oracle reads target labels, so this is analysis only, the measure of the
    objectives, never a choice), and for how many methods the tuned reruns reach the default."""
    shortfalls: dict[str, list[float]] = {}
    reached, missed = [], []
    for pair, p in pairs.items():
        for method, r in p["methods"].items():
            if not r["finished"]:
                continue
            oracle = r["picks"].get("oracle (analysis only)", {}).get("target_acc")
            for objective, pick in r["picks"].items():
                if oracle is not None and pick.get("target_acc") is not None and not objective.startswith("oracle"):
                    shortfalls.setdefault(objective, []).append(oracle - pick["target_acc"])
            tuned, default = r.get("rerun_target_acc"), r.get("default_target_acc")
            if tuned is not None and default is not None:
                (reached if tuned >= default else missed).append(f"{pair}/{method}")
    objectives = {
        o: {
            "studies": len(v),
            "mean_shortfall": sum(v) / len(v),
            "worst_shortfall": max(v),
            "within_one_point": sum(x <= 0.01 for x in v),
        }
        for o, v in shortfalls.items()
    }
    return {
        "objectives": dict(sorted(objectives.items(), key=lambda kv: kv[1]["mean_shortfall"])),
        "tuned_reaches_default": reached,
        "tuned_below_default": missed,
    }


def collect(args: argparse.Namespace) -> dict:
    default = defaults()
    pairs = {}
    for pair in args.pairs:
        rows = {}
        for method in args.methods:
            name = f"{folder_name(pair)}/{method}"
            result = finished(args.records / name, args) or finished(args.runs / name, args)
            if result is None:
                rows[method] = {"finished": False}
                continue
            best = result.get("best") or {}
            rerun = result.get("reproduce", {})
            rows[method] = {
                "finished": True,
                "chosen": best.get("method"),
                "params": best.get("params"),
                "verdict": result.get("verdict"),
                "rerun_target_acc": rerun.get("target_acc_mean_analysis_only"),
                "rerun_target_acc_std": rerun.get("target_acc_std_analysis_only"),
                "rerun_score": rerun.get("score_mean"),
                "default_target_acc": default_accuracy(pair, method, args, default),
                "picks": picks(result),
            }
        scored = {m: r for m, r in rows.items() if r.get("rerun_score") is not None}
        overall = max(scored, key=lambda m: scored[m]["rerun_score"], default=None)
        pairs[pair] = {
            "methods": rows,
            "source_only_default": default_accuracy(pair, "source_only", args, default),
            "overall": {
                "study": overall,
                **({k: scored[overall][k] for k in ("chosen", "rerun_target_acc")} if overall else {}),
            },
        }
    return {
        "benchmark": "tuning",
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "budget": {
            "trials": args.trials,
            "trial_epochs": args.trial_epochs,
            "trial_subset": args.trial_subset,
            "by": args.by,
            "reproduce_seeds": args.reproduce_seeds,
            "reruns": "advlab adapt's default budget (12 epochs, all images of the pair)",
        },
        "machine": machine(),
        "pairs": pairs,
        "scorecard": scorecard(pairs),
    }


def cell(value: float | None, std: float | None = None) -> str:
    if value is None:
        return "–"
    return f"{value:.4f}" + (f" ± {std:.4f}" if std is not None else "")


def markdown(report: dict) -> str:
    b = report["budget"]
    lines = [
        "# Tuning without target labels",
        "",
        "Per pair and method, `advlab tune --methods METHOD` (source_only always a candidate): "
        f"{b['trials']} trials of {b['trial_epochs']} epochs on {b['trial_subset']} images per domain, chosen by "
        f"`{b['by']}`, the choice rerun for {b['reproduce_seeds']} seeds at {b['reruns']}. Tuned: the reruns' "
        "final-epoch target accuracy (mean ± std). Default: the method's default setting at the same budget and "
        "seeds (MNIST -> MNIST-M: the committed methods_mnist_mnistm results; the small-target pairs: runs of this "
        "script). Other objectives' picks are trials at the trial budget (no reruns). Oracle columns are analysis "
        "only: nothing chooses by target labels. Written by benchmarks/tuning.py.",
    ]
    for pair, p in report["pairs"].items():
        lines += ["", f"## {pair}", "", f"source_only at its default: {cell(p['source_only_default'])}.", ""]
        lines += ["| method | chose | tuned (reruns) | default | verdict | oracle trial (analysis only) |"]
        lines += ["|---|---|---|---|---|---|"]
        for method, r in p["methods"].items():
            if not r["finished"]:
                lines.append(f"| `{method}` | not finished | | | | |")
                continue
            oracle = r["picks"].get("oracle (analysis only)", {})
            lines.append(
                f"| `{method}` | `{r['chosen']}` | {cell(r['rerun_target_acc'], r['rerun_target_acc_std'])} | "
                f"{cell(r['default_target_acc'])} | {r['verdict']} | {cell(oracle.get('target_acc'))} |"
            )
        objectives = sorted({o for r in p["methods"].values() if r["finished"] for o in r["picks"]})
        if objectives:
            lines += ["", "Target accuracy of the trial each objective would pick (trial budget):", ""]
            lines += ["| method | " + " | ".join(objectives) + " |", "|---|" + "---|" * len(objectives)]
            for method, r in p["methods"].items():
                if r["finished"]:
                    cells = [cell(r["picks"].get(o, {}).get("target_acc")) for o in objectives]
                    lines.append(f"| `{method}` | " + " | ".join(cells) + " |")
        o = p["overall"]
        if o.get("study"):
            lines += [
                "",
                f"Overall label-free choice: the `{o['study']}` study's `{o['chosen']}`, "
                f"{cell(o['rerun_target_acc'])}.",
            ]
    card = report.get("scorecard")
    if card and card["objectives"]:
        lines += [
            "",
            "## The objectives, over every finished study",
            "",
            "How far each objective's pick falls short of the oracle's trial, in target accuracy at the trial "
            "budget (analysis only: this measures the objectives, it chooses nothing), best first:",
            "",
            "| objective | studies | mean shortfall | worst | within 1 point |",
            "|---|---|---|---|---|",
        ]
        for objective, o in card["objectives"].items():
            lines.append(
                f"| `{objective}` | {o['studies']} | {o['mean_shortfall']:.4f} | {o['worst_shortfall']:.4f} | "
                f"{o['within_one_point']} of {o['studies']} |"
            )
        reached, missed = card["tuned_reaches_default"], card["tuned_below_default"]
        lines += [
            "",
            f"Tuned reruns at or above the default setting: {len(reached)} of {len(reached) + len(missed)}"
            + (f"; below: {', '.join(f'`{m}`' for m in missed)}." if missed else "."),
        ]
    m = report["machine"]
    lines += ["", f"{m['processor']}, {m['cpu_count']} cores, torch {m['torch']}.", ""]
    return "\n".join(lines)


def figure(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = list(report["pairs"].items())
    fig, axes = plt.subplots(1, len(pairs), figsize=(5 * len(pairs), 4), squeeze=False)
    for ax, (pair, p) in zip(axes[0], pairs):
        methods = list(p["methods"])
        x = range(len(methods))
        tuned = [p["methods"][m].get("rerun_target_acc") or 0 for m in methods]
        default = [p["methods"][m].get("default_target_acc") or 0 for m in methods]
        ax.bar([i - 0.2 for i in x], default, 0.4, label="default", color="#bbbbbb")
        ax.bar([i + 0.2 for i in x], tuned, 0.4, label="tuned (label-free)", color="#3b6ea8")
        if p["source_only_default"]:
            ax.axhline(p["source_only_default"], color="black", linestyle="--", linewidth=1, label="source_only")
        ax.set_xticks(list(x), methods, rotation=45, ha="right")
        ax.set_ylim(0, 1)
        ax.set_title(pair)
        ax.set_ylabel("target accuracy")
    axes[0][0].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+", default=list(PAIRS), choices=PAIRS)
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--trials", type=int, default=12, help="trials per study (default: 12)")
    parser.add_argument("--trial-epochs", type=int, default=3)
    parser.add_argument("--trial-subset", type=int, default=10000)
    parser.add_argument("--by", default="ensv", help="what chooses among the trials, as advlab tune --by")
    parser.add_argument("--reproduce-seeds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--runs", type=Path, default=HERE / "runs" / "tuning")
    parser.add_argument("--records", type=Path, default=HERE / "results" / "tuning_records")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "tuning")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    if not args.table_only:
        for pair in args.pairs:
            for method in args.methods:
                tune_one(pair, method, args)
                write_report(collect(args), args.out, markdown)
    report = collect(args)
    report["wall_minutes_this_invocation"] = round((time.perf_counter() - started) / 60, 1)
    write_report(report, args.out, markdown)
    figure(report, args.out.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
