"""Run the study's runs as separate `advlab` processes, `jobs` at a time.

A run with a summary.json is finished and skipped; one started before is resumed; one
that stopped with an error keeps that error in failed.txt (a diverged setting of the
sweep is a result, not a reason to stop the study) and is not retried. Stopping the study
(Ctrl-C, SIGTERM) stops the runs in flight at their last checkpoint and starts no others.
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from advlab.report import preloaded
from advlab.report.study import Run
from advlab.runs.files import complete_lines
from advlab.runs.progress import reported, say


@dataclass
class Outcome:
    name: str
    status: str  # "done", "skipped" (finished earlier), "failed" or "stopped" (the study was stopped)
    seconds: float
    error: str | None = None


class Told:
    """The outcomes of a study's runs as they end, whichever launcher ran them: kept in
    order, passed to `on_outcome` (the study's clock) and, unless quiet, said in a line each."""

    def __init__(self, total: int, quiet: bool, on_outcome: Callable[[Outcome], None] | None):
        self.outcomes: list[Outcome] = []
        self.total, self.quiet, self.on_outcome = total, quiet, on_outcome

    def __call__(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if self.on_outcome:
            self.on_outcome(outcome)
        if not self.quiet:
            note = f" ({outcome.error})" if outcome.error else ""
            say(f"[{len(self.outcomes)}/{self.total}] {outcome.name}: {outcome.status} {outcome.seconds:.0f}s{note}")


def run_dir(root: Path, name: str) -> Path:
    return root / "runs" / name


def _end_with_parent(parent: int) -> None:
    """In the child, before it runs: ask Linux to send it SIGTERM when the study process dies,
    even by SIGKILL, which no handler of ours can see. A run then stops at its last checkpoint
    instead of going on as an orphan beside the next invocation's run of the same directory.
    (The signal follows the thread that started the child; ours waits for it to end.)"""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the study's own stop still stops its runs
        pass


PR_SET_PDEATHSIG = 1


class _Spawned:
    """A run in a fresh interpreter (where the preloaded server is not available), with the
    interface of preloaded.RunProcess."""

    def __init__(self, argv: list[str], stdout: Path, stderr: Path) -> None:
        with open(stdout, "a") as out, open(stderr, "w") as err:
            self._popen = subprocess.Popen(
                [sys.executable, "-m", "advlab.cli", *argv],
                stdout=out,
                stderr=err,
                preexec_fn=functools.partial(_end_with_parent, os.getpid()),
            )
        self.pid = self._popen.pid

    def terminate(self) -> None:
        self._popen.terminate()

    def wait(self) -> int:
        return self._popen.wait()


class Processes:
    """The run processes alive now, so that stopping the study stops them as well (they
    would otherwise go on as orphans) and no queued run starts after the stop. Runs are
    forked from the preloaded server (advlab.report.preloaded: no second of imports each)
    where the platform has one, else started as fresh interpreters."""

    def __init__(self, preload: bool | None = None) -> None:
        self._lock, self._alive, self.stopping = threading.Lock(), set(), False
        self.preload = preloaded.available() if preload is None else preload

    def start(self, argv: list[str], stdout: Path, stderr: Path):
        """`advlab ARGV...` as its own process (None once the study is stopping)."""
        with self._lock:
            if self.stopping:
                return None
            process = preloaded.start(argv, stdout, stderr) if self.preload else _Spawned(argv, stdout, stderr)
            self._alive.add(process)
            return process

    def finished(self, process) -> None:
        with self._lock:
            self._alive.discard(process)

    def stop_all(self) -> None:
        """SIGTERM each run: it ends in an orderly way, keeping its last checkpoint for the next invocation."""
        with self._lock:
            self.stopping = True
            for process in self._alive:
                process.terminate()


def already_over(run: Run, runs_dir: Path) -> Outcome | None:
    """The run's outcome if its files say it is over before anything runs: finished
    ("skipped", nothing to do) or failed for good (its failed.txt); None otherwise."""
    out = runs_dir / run.name
    if (out / "summary.json").exists():
        return Outcome(run.name, "skipped", 0.0)
    if (out / "failed.txt").exists():
        return Outcome(run.name, "failed", 0.0, (out / "failed.txt").read_text().strip())
    return None


def execute(
    run: Run,
    root: Path,
    threads: int,
    data_dir: str | None,
    processes: Processes | None = None,
    device: str | None = None,
    runs_dir: Path | None = None,
) -> Outcome:
    """Run one run to its end as an `advlab` process. Its directory is DIR/runs/NAME, or
    RUNS_DIR/NAME where a benchmark keeps its runs elsewhere; its log goes to DIR/logs."""
    runs_dir = runs_dir or root / "runs"
    out = runs_dir / run.name
    over = already_over(run, runs_dir)
    if over is not None:
        return over
    missing = [a for a in run.after if not (runs_dir / a / "summary.json").exists()]
    if missing:
        return Outcome(run.name, "failed", 0.0, f"needs {', '.join(missing)}, which did not finish")
    argv = [a.replace("{runs}", str(runs_dir)) for a in run.command]
    argv += ["--out", str(out), "--threads", str(threads), "--quiet"]
    argv += ["--data-dir", data_dir] if data_dir else []
    argv += ["--device", device] if device else []
    # any earlier attempt (even one stopped before its first checkpoint, whose record files are
    # already written) is continued: --resume starts afresh where there is no checkpoint yet;
    # `advlab tune` continues the study in its folder by itself
    argv += ["--resume"] if out.exists() and run.command[0] != "tune" else []
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log, stderr_file = logs / f"{run.name}.log", logs / f"{run.name}.stderr"
    with open(log, "a") as f:
        f.write(" ".join([sys.executable, "-m", "advlab.cli", *argv]) + "\n")
    processes = processes or Processes()
    started = time.perf_counter()
    process = processes.start(argv, log, stderr_file)
    if process is None:
        return Outcome(run.name, "stopped", 0.0)
    try:
        returncode = process.wait()
    finally:
        processes.finished(process)
    seconds = time.perf_counter() - started
    stderr = stderr_file.read_text(errors="replace") if stderr_file.exists() else ""
    stderr_file.unlink(missing_ok=True)
    if returncode != 0:
        error = (stderr.strip().splitlines() or [f"exit status {returncode}"])[-1]
        with open(log, "a") as f:
            f.write(stderr)
        if processes.stopping:
            return Outcome(run.name, "stopped", seconds)
        if returncode == 2:  # advlab's own one-line error: a result of this setting, kept
            out.mkdir(parents=True, exist_ok=True)
            (out / "failed.txt").write_text(error + "\n")
        return Outcome(run.name, "failed", seconds, error)
    return Outcome(run.name, "done", seconds)


def default_threads(jobs: int) -> int:
    """The machine's cores shared among the runs in flight."""
    return max(1, (os.cpu_count() or 1) // jobs)


def epoch_in_flight(run: Run, root: Path, runs_dir: Path | None = None) -> str:
    """'epoch 3/20' for a run in flight ('trial 4/12' for a tune run), read from the files it
    writes as it goes.

    Those files are being written by another process while this reads them: only complete
    lines count (a line is complete once its newline is there), and a file that cannot be
    read at all gives 'epoch unknown/20'. It never raises: it only reports."""
    out = (runs_dir or root / "runs") / run.name
    unit, flag, count = (
        ("trial", "--trials", _trial_in_progress)
        if run.command[0] == "tune"
        else ("epoch", "--epochs", _epoch_in_progress)
    )
    total = run.command[run.command.index(flag) + 1] if flag in run.command[:-1] else "?"
    current = reported(lambda: count(out), None)
    if current is None:
        return f"{unit} unknown/{total}"
    return f"{unit} {min(current, int(total)) if total.isdigit() else current}/{total}"


def _trial_in_progress(out: Path) -> int:
    """tune: a folder per trial begun (trials/<number>-<method>), the last one in flight."""
    trials = out / "trials"
    return max(1, sum(1 for p in trials.iterdir() if p.is_dir())) if trials.is_dir() else 1


def _epoch_in_progress(out: Path) -> int:
    if (out / "metrics.jsonl").exists():  # adapt: a line per finished epoch
        return 1 + len(complete_lines(out / "metrics.jsonl"))
    if (out / "losses.csv").exists():  # gan: a row per step, with its epoch (under a header)
        rows = complete_lines(out / "losses.csv")[1:]
        last = rows[-1].split(",") if rows else []
        return int(last[1]) if len(last) > 1 and last[1].isdigit() else 1
    return 1


def status_line(runs: list[Run], root: Path, runs_dir: Path | None = None) -> str:
    """'a (epoch 2/3), b (unknown)': the runs in flight; what cannot be read is 'unknown'."""
    said = [f"{r.name} ({reported(functools.partial(epoch_in_flight, r, root, runs_dir), 'unknown')})" for r in runs]
    return ", ".join(said) or "none"


def run_all(
    runs: list[Run],
    root: Path,
    jobs: int,
    data_dir: str | None,
    quiet: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    threads: int | None = None,
    status_every: float = 60.0,
    device: str | None = None,
) -> list[Outcome]:
    """Runs in waves: first those that start from nothing, then those that start from them.

    `on_outcome` hears of each run as it ends (the study's clock keeps the times); unless
    quiet, a line every `status_every` seconds names the runs in flight and their epochs. On
    an interrupt the runs in flight are stopped and reported as "stopped", and it is raised
    again."""
    threads = threads or default_threads(jobs)
    started = time.perf_counter()
    last_status = started
    processes = Processes()
    report = Told(len(runs), quiet, on_outcome)
    outcomes = report.outcomes
    names = {r.name for r in runs}
    waves = [[r for r in runs if not (set(r.after) & names)], [r for r in runs if set(r.after) & names]]
    total = len(runs)

    for wave in waves:
        pool = ThreadPoolExecutor(jobs)
        futures = {pool.submit(execute, r, root, threads, data_dir, processes, device): r for r in wave}
        pending = set(futures)
        try:
            while pending:  # wakes every second, so that a signal is handled at once whichever thread took it
                done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                for future in done:
                    report(future.result())
                if not quiet and time.perf_counter() - last_status >= status_every:
                    last_status = time.perf_counter()
                    running = status_line([futures[f] for f in pending if f.running()], root)
                    minutes = (last_status - started) / 60
                    say(f"... {len(outcomes)}/{total} runs ended, {minutes:.1f} min; running: {running}")
        except BaseException:
            processes.stop_all()
            pool.shutdown(wait=True, cancel_futures=True)
            for future in pending:  # the runs in flight: their time counts as well
                if not future.cancelled() and future.exception() is None and future.result().seconds:
                    report(future.result())
            raise
        pool.shutdown()
    return outcomes
