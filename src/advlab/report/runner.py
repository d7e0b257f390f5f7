"""Run the study's runs as separate `advlab` processes, `jobs` at a time.

A run with a summary.json is finished and skipped; one with a last.pt is resumed; one
that stopped with an error keeps that error in failed.txt (a diverged setting of the
sweep is a result, not a reason to stop the study) and is not retried.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from advlab.report.study import Run


@dataclass
class Outcome:
    name: str
    status: str  # "done", "skipped" (finished earlier) or "failed"
    seconds: float
    error: str | None = None


def run_dir(root: Path, name: str) -> Path:
    return root / "runs" / name


def execute(run: Run, root: Path, threads: int, data_dir: str | None) -> Outcome:
    out = run_dir(root, run.name)
    if (out / "summary.json").exists():
        return Outcome(run.name, "skipped", 0.0)
    if (out / "failed.txt").exists():
        return Outcome(run.name, "failed", 0.0, (out / "failed.txt").read_text().strip())
    missing = [a for a in run.after if not (run_dir(root, a) / "summary.json").exists()]
    if missing:
        return Outcome(run.name, "failed", 0.0, f"needs {', '.join(missing)}, which did not finish")
    command = [a.replace("{runs}", str(root / "runs")) for a in run.command]
    command = [sys.executable, "-m", "advlab.cli", *command, "--out", str(out), "--threads", str(threads), "--quiet"]
    command += ["--data-dir", data_dir] if data_dir else []
    command += ["--resume"] if (out / "last.pt").exists() else []
    (root / "logs").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(root / "logs" / f"{run.name}.log", "a") as log:
        log.write(" ".join(command) + "\n")
        log.flush()
        result = subprocess.run(command, stdout=log, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        error = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        with open(root / "logs" / f"{run.name}.log", "a") as log:
            log.write(result.stderr)
        if result.returncode == 2:  # advlab's own one-line error: a result of this setting, kept
            out.mkdir(parents=True, exist_ok=True)
            (out / "failed.txt").write_text(error + "\n")
        return Outcome(run.name, "failed", seconds, error)
    return Outcome(run.name, "done", seconds)


def run_all(runs: list[Run], root: Path, jobs: int, data_dir: str | None, quiet: bool = False,
            on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Runs in waves: first those that start from nothing, then those that start from them.

    `on_outcome` hears of each run as it ends (the study's clock keeps the times)."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    outcomes: list[Outcome] = []
    names = {r.name for r in runs}
    waves = [[r for r in runs if not (set(r.after) & names)], [r for r in runs if set(r.after) & names]]
    total, count = len(runs), 0
    for wave in waves:
        with ThreadPoolExecutor(jobs) as pool:
            for future in as_completed([pool.submit(execute, r, root, threads, data_dir) for r in wave]):
                outcome = future.result()
                count += 1
                outcomes.append(outcome)
                if on_outcome:
                    on_outcome(outcome)
                if not quiet:
                    note = f" ({outcome.error})" if outcome.error else ""
                    print(f"[{count}/{total}] {outcome.name}: {outcome.status} {outcome.seconds:.0f}s{note}", flush=True)
    return outcomes
