"""Benchmark: the reversal-factor sweep of the full study (DANN with a constant λ, and the
ramp with two other γ), run on its own so that the model-selection benchmark can measure
the validators across settings of one hyperparameter.

Each run is the study's own command (`advlab.report.study.plan` of the full profile: all
images, 6 epochs), run seed by seed (`--seeds`, the study uses seed 0 only), `--jobs` at a
time with one thread each. Finished runs are reused and unfinished ones resumed, so the
script can be stopped and started again. Accuracy is the final epoch's. Writes
benchmarks/results/lambda_sweep.{json,md}.

    python benchmarks/lambda_sweep.py                    # seeds 0-2, two runs at a time
    python benchmarks/lambda_sweep.py --table-only       # rebuild the table from finished runs
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

from advlab.report.study import PROFILES, plan
from common import machine, mean_std, write_report

HERE = Path(__file__).resolve().parent


def sweep_runs(seed: int) -> list[tuple[str, tuple[str, ...]]]:
    """(name, advlab arguments) of the full profile's sweep, moved to `seed`."""
    runs = []
    for run in plan(PROFILES["full"]):
        if not run.name.startswith("sweep-"):
            continue
        command = list(run.command)
        command[command.index("--seed") + 1] = str(seed)
        runs.append((f"{run.name}-s{seed}", tuple(command)))
    return runs


def run_one(name: str, command: tuple[str, ...], runs: Path) -> None:
    out = runs / name
    if (out / "summary.json").exists():
        return
    cmd = [sys.executable, "-m", "advlab.cli", *command, "--threads", "1", "--quiet", "--out", str(out)]
    if (out / "last.pt").exists():
        cmd.append("--resume")
    started = time.perf_counter()
    with open(runs / f"{name}.log", "a") as log:
        result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    print(
        f"{name}: {'done' if result.returncode == 0 else f'FAILED (exit {result.returncode}, see its log)'} "
        f"in {(time.perf_counter() - started) / 60:.1f} min",
        flush=True,
    )


def collect(runs: Path, seeds: list[int]) -> dict:
    rows: dict[str, dict] = {}
    for seed in seeds:
        for name, _ in sweep_runs(seed):
            setting = name.rsplit("-s", 1)[0].removeprefix("sweep-")
            path = runs / name / "metrics.jsonl"
            if not (runs / name / "summary.json").exists():
                continue
            last = json.loads(path.read_text().splitlines()[-1])
            row = rows.setdefault(setting, {"seeds": [], "target_acc": [], "source_acc": []})
            row["seeds"].append(seed)
            row["target_acc"].append(last["target_acc"])
            row["source_acc"].append(last["source_acc"])
    for row in rows.values():
        row["target_acc_mean_std"] = mean_std(row["target_acc"])
        row["source_acc_mean_std"] = mean_std(row["source_acc"])
    return rows


def markdown(report: dict) -> str:
    p = PROFILES["full"]
    lines = [
        "# The reversal-factor sweep (DANN, MNIST → MNIST-M)",
        "",
        f"The full study's sweep: all images, {p.sweep_epochs} epochs, constant λ or the ramp with another γ; "
        "final-epoch accuracy, mean ± std over the seeds listed.",
        "",
        "| setting | seeds | target acc | source acc |",
        "|---|---|---|---|",
    ]
    for setting, r in report["settings"].items():
        t, s = r["target_acc_mean_std"], r["source_acc_mean_std"]
        lines.append(
            f"| `{setting}` | {','.join(map(str, r['seeds']))} | {t['mean']:.4f} ± {t['std']:.4f} | {s['mean']:.4f} ± "
            f"{s['std']:.4f} |"
        )
    m = report["machine"]
    wall = sum(i["wall_minutes"] for i in report["invocations"])
    lines += [
        "",
        f"Benchmark wall time: {wall:.1f} min over {len(report['invocations'])} invocation(s); "
        f"{m['processor']}, {m['cpu_count']} cores, torch {m['torch']}.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=HERE / "runs" / "lambda_sweep")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "lambda_sweep")
    parser.add_argument("--table-only", action="store_true", help="only rebuild the results from finished runs")
    args = parser.parse_args()

    started = time.perf_counter()
    if not args.table_only:
        args.runs.mkdir(parents=True, exist_ok=True)
        jobs = [job for seed in args.seeds for job in sweep_runs(seed)]
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda job: run_one(*job, args.runs), jobs))
    previous = json.loads(args.out.with_suffix(".json").read_text()) if args.out.with_suffix(".json").exists() else {}
    invocations = previous.get("invocations", [])
    if not args.table_only:
        invocations.append(
            {
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "wall_minutes": round((time.perf_counter() - started) / 60, 2),
            }
        )
    report = {
        "benchmark": "lambda_sweep",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "invocations": invocations,
        "machine": machine(),
        "settings": collect(args.runs, args.seeds),
    }
    write_report(report, args.out, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
