"""Run the study's runs as Slurm jobs through submitit (`advlab reproduce --launcher slurm`).

Each planned run becomes one job that does what the local runner does for it
(`runner.execute`: skip it if finished, resume it if started, keep an advlab error in
failed.txt), so a run's files are the same whichever launcher ran it. What was submitted
is kept in DIR/slurm/jobs.json. A rerun of the command asks the scheduler which of those
jobs are still queued or running and submits only the runs that are neither finished nor
in the queue: a run is never in the queue twice, even from two invocations at once (the
check and the submission hold a lock on DIR/slurm/).

Runs that start from another run's result (pseudo-labelling) are submitted with a Slurm
dependency on their parent's job, `afterany`: the job itself checks that its parent
finished, so a failed parent does not leave its children pending for ever.

Stopping: a job that times out or is pre-empted is requeued by submitit, and its run
resumes from its last checkpoint (the run is Checkpointable). One cancelled with scancel
takes SIGTERM like Ctrl-C: it stops at its last checkpoint and is submitted again,
resuming, by the next invocation of the same command.

submitit is an optional extra (`pip install advlab[cluster]`); this module imports it only
when a study is launched. The tests run the same code path through submitit's local
executor (tests/local_jobs.py: each job a process on this machine), passed as `scheduler`.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import math
import pickle
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from advlab.errors import AdvlabError
from advlab.report.runner import Outcome, Told, already_over, execute, status_line
from advlab.report.study import Run
from advlab.runs.files import atomic_write
from advlab.runs.progress import say

JOBS_FILE = "jobs.json"


@dataclass(frozen=True)
class SlurmOptions:
    """What each run's job asks Slurm for, and how the launcher behaves."""

    partition: str | None = None  # None: the cluster's default partition
    time_limit_min: int = 240  # per job; a run longer than this is requeued and resumes
    cpus_per_run: int = 2  # also the run's torch threads
    gpus_per_run: int = 0
    array_limit: int = 64  # at most this many of one submission's jobs run at once
    max_requeues: int = 20  # time-outs one run may be requeued after (pre-emptions are not counted)
    wait: bool = True  # wait for every job, then build the report; else submit and return
    poll_seconds: float = 10.0  # how often a waiting launcher runs squeue (--poll-every)

    def arguments(self) -> list[str]:
        """The command-line flags that ask for these options (for the report's command line;
        how often the launcher polls changes no result and is left out)."""
        flags = ["--partition", self.partition] if self.partition else []
        flags += ["--time-limit", str(self.time_limit_min), "--cpus-per-run", str(self.cpus_per_run)]
        flags += ["--gpus-per-run", str(self.gpus_per_run)] if self.gpus_per_run else []
        return flags + ["--array-limit", str(self.array_limit)]

    def problem(self) -> str | None:
        for name in ("time_limit_min", "cpus_per_run", "array_limit"):
            if getattr(self, name) < 1:
                return f"--{name.replace('_', '-').replace('-min', '')} must be >= 1, got {getattr(self, name)}"
        if self.gpus_per_run < 0:
            return f"--gpus-per-run must be >= 0, got {self.gpus_per_run}"
        if not 0 < self.poll_seconds < math.inf:
            return f"--poll-every must be > 0 seconds and finite, got {self.poll_seconds}"
        return None


NEEDS_SUBMITIT = "the slurm launcher needs submitit: pip install 'advlab[cluster]'"


def _submitit():
    try:
        import submitit
    except ImportError:
        raise AdvlabError(NEEDS_SUBMITIT) from None
    return submitit


class RunJob:
    """One run as a job. submitit requeues a timed-out or pre-empted job by calling
    `checkpoint`, which submits the same call again: `execute` then resumes the run from its
    last checkpoint. (Duck-typed like submitit.helpers.Checkpointable, so that importing
    this module does not need submitit.)"""

    def __call__(
        self, run: Run, root: str, threads: int, data_dir: str | None, device: str | None, runs_dir: str | None = None
    ) -> Outcome:
        return execute(run, Path(root), threads, data_dir, device=device, runs_dir=Path(runs_dir) if runs_dir else None)

    def checkpoint(self, *args, **kwargs):
        return _submitit().helpers.DelayedSubmission(self, *args, **kwargs)


class SlurmJobs:
    """Submission through submitit's Slurm executor; the queue read with squeue."""

    name = "slurm"
    dependencies = True  # children can be queued at once, after their parents

    def __init__(self, folder: Path, options: SlurmOptions):
        self.folder, self.options = folder, options

    def executor(self, after: list[str]):
        o = self.options
        executor = _submitit().SlurmExecutor(folder=self.folder, max_num_timeout=o.max_requeues)
        executor.update_parameters(
            job_name="advlab",
            time=o.time_limit_min,
            cpus_per_task=o.cpus_per_run,
            array_parallelism=o.array_limit,
            stderr_to_stdout=True,
        )
        if o.partition:
            executor.update_parameters(partition=o.partition)
        if o.gpus_per_run:
            executor.update_parameters(gpus_per_node=o.gpus_per_run)
        if after:
            executor.update_parameters(dependency="afterany:" + ":".join(after))
        return executor

    def alive(self) -> dict[str, str]:
        """This user's jobs in the queue now: job id -> state (PENDING, RUNNING, ...), one
        line per array task."""
        if shutil.which("squeue") is None:
            raise AdvlabError("the slurm launcher needs Slurm's squeue on PATH (run it on the cluster's login node)")
        result = subprocess.run(
            ["squeue", "-h", "-r", "-u", getpass.getuser(), "-o", "%i %T"], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise AdvlabError(f"squeue failed: {(result.stderr.strip().splitlines() or ['no message'])[-1]}")
        return dict(line.split(maxsplit=1) for line in result.stdout.splitlines() if line.strip())


SCHEDULERS = {"slurm": SlurmJobs}


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One invocation at a time reads the queue and submits, so two cannot both submit a run."""
    with open(folder / "submit.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_jobs(folder: Path) -> dict[str, str]:
    path = folder / JOBS_FILE
    return json.loads(path.read_text())["jobs"] if path.exists() else {}


def _write_jobs(folder: Path, jobs: dict[str, str]) -> None:
    atomic_write(folder / JOBS_FILE, json.dumps({"jobs": jobs}, indent=1, sort_keys=True) + "\n")


def _job_outcome(folder: Path, job_id: str, run: Run, runs_dir: Path) -> Outcome:
    """What a job that left the queue did, from the result submitit pickled (our own file:
    the job's return value, an Outcome) and, where there is none, from the run's files."""
    result = folder / f"{job_id}_0_result.pkl"  # submitit: JOB_TASK_result.pkl
    if result.exists():
        try:
            with open(result, "rb") as f:
                kind, value = pickle.load(f)
            if kind == "success" and isinstance(value, Outcome):
                return value
        except (OSError, EOFError, pickle.UnpicklingError, ValueError):
            pass
    ended = already_over(run, runs_dir)
    if ended is not None:
        return Outcome(run.name, "done" if ended.status == "skipped" else ended.status, 0.0, ended.error)
    log = folder / f"{job_id}_0_log.out"
    return Outcome(
        run.name,
        "stopped",
        0.0,
        f"job {job_id} ended before the run finished (cancelled, killed or out of time; "
        f"its log: {log}); run the same command again to resume it",
    )


@dataclass
class Launched:
    """What an invocation saw and did: the runs' outcomes so far and the jobs still in the queue."""

    outcomes: list[Outcome]
    in_queue: dict[str, str]  # run name -> job id
    submitted: int


def launch(
    runs: list[Run],
    root: Path,
    options: SlurmOptions,
    data_dir: str | None,
    device: str | None = None,
    quiet: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    scheduler: str | type = "slurm",
    status_every: float = 60.0,
    runs_dir: Path | None = None,
) -> Launched:
    """Submit every run that is neither finished nor queued; unless `options.wait` is off,
    wait until all of them have left the queue. Runs keep their directories under DIR/runs
    (or `runs_dir`), the jobs' files under DIR/slurm and the runs' logs under DIR/logs."""
    runs_dir = runs_dir or root / "runs"
    folder = root / "slurm"
    folder.mkdir(parents=True, exist_ok=True)
    jobs = (SCHEDULERS[scheduler] if isinstance(scheduler, str) else scheduler)(folder, options)
    names = {r.name for r in runs}
    report = Told(len(runs), quiet, on_outcome)
    outcomes = report.outcomes
    started = last_status = time.perf_counter()

    def submit(ready: list[Run], record: dict[str, str], queue: dict[str, str]) -> int:
        """Submit the runs given: those without a parent in the queue as one array, each of
        the others after its parents' jobs (Slurm), or not yet (local executor)."""
        waiting = {r.name: [record[a] for a in r.after if a in record and record[a] in queue] for r in ready}
        free = [r for r in ready if not waiting[r.name]]
        held = [r for r in ready if waiting[r.name]] if jobs.dependencies else []
        threads = options.cpus_per_run
        if free:
            executor = jobs.executor([])
            with executor.batch():
                handles = [
                    executor.submit(RunJob(), r, str(root), threads, data_dir, device, str(runs_dir)) for r in free
                ]
            for r, h in zip(free, handles):
                record[r.name] = queue[h.job_id] = h.job_id
        for r in held:
            h = jobs.executor(waiting[r.name]).submit(RunJob(), r, str(root), threads, data_dir, device, str(runs_dir))
            record[r.name] = queue[h.job_id] = h.job_id
        _write_jobs(folder, record)
        return len(free) + len(held)

    def pending_runs(record: dict[str, str], queue: dict[str, str]) -> list[Run]:
        """Runs neither over nor in the queue whose parents are not in the queue (or may wait there)."""
        todo = [r for r in runs if r.name not in done_names and record.get(r.name) not in queue]
        parents_busy = (
            {r.name for r in todo if any(record.get(a) in queue for a in r.after)} if not jobs.dependencies else set()
        )
        return [r for r in todo if r.name not in parents_busy]

    done_names: set[str] = set()
    for r in runs:  # finished, or failed for good, before this invocation
        ended = already_over(r, runs_dir)
        if ended is not None:
            done_names.add(r.name)
            report(ended)
    if len(done_names) == len(runs):  # nothing to submit or wait for: no need of a scheduler here
        return Launched(outcomes, {}, 0)
    with _locked(folder):
        record, queue = _read_jobs(folder), jobs.alive()
        # parents first, so that a child submitted in this call can name its parent's job
        submitted = submit([r for r in pending_runs(record, queue) if not (set(r.after) & names)], record, queue)
        submitted += submit([r for r in pending_runs(record, queue) if set(r.after) & names], record, queue)
    ours = {record[r.name]: r for r in runs if r.name not in done_names and record.get(r.name) in queue}
    if not quiet:
        print(
            f"slurm launcher ({jobs.name}): {submitted} runs submitted, {len(ours) - submitted} already in the queue, "
            f"{len(done_names)} over before this invocation; jobs under {folder}",
            flush=True,
        )
    while options.wait and (ours or pending_runs(record, queue)):
        time.sleep(options.poll_seconds)
        queue = jobs.alive()
        for job_id in [j for j in ours if j not in queue]:
            outcome = _job_outcome(folder, job_id, ours.pop(job_id), runs_dir)
            done_names.add(outcome.name)
            report(outcome)
        if not jobs.dependencies:  # children whose parents' jobs have now ended
            with _locked(folder):
                record = _read_jobs(folder) | record
                ready = pending_runs(record, queue)
                if ready:
                    submit(ready, record, queue)
                    ours.update({record[r.name]: r for r in ready})
        if not quiet and time.perf_counter() - last_status >= status_every:
            last_status = time.perf_counter()
            in_flight = [r for j, r in ours.items() if queue.get(j) == "RUNNING"]
            running = status_line(in_flight, root, runs_dir)
            say(
                f"... {len(outcomes)}/{len(runs)} runs over, {(last_status - started) / 60:.1f} min; "
                f"{len(ours) - len(in_flight)} queued; running: {running}"
            )
    return Launched(outcomes, {r.name: j for j, r in ours.items()}, submitted)


def in_queue_note(job_id: str) -> str:
    return f"not finished yet: Slurm job {job_id} is in the queue"


def environment_problem() -> str | None:
    """Why the slurm launcher cannot run here, or None."""
    try:
        _submitit()
    except AdvlabError as e:
        return str(e)
    if shutil.which("sbatch") is None:
        return "the slurm launcher needs Slurm's sbatch on PATH (run it on the cluster's login node)"
    return None
