"""`advlab tune --launcher slurm`: the study's workers as Slurm jobs.

Each of --jobs jobs (through submitit, as `advlab reproduce --launcher slurm`) opens the
study and runs one trial after another until the study holds --trials trials, finished or
in flight, so a job that is requeued (timed out, pre-empted) goes on where the study is and
none runs a trial the study no longer needs. Several nodes share one study through Optuna's
JournalStorage, an append-only file in the tune folder (OUT/study.journal) that a shared
file system can hold, where SQLite's locking cannot be trusted. The command waits for its
jobs (squeue every --poll-every seconds), then chooses and reports as a local tune does; a
trial a lost job left running is marked interrupted by the next command, like a killed one's.
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path
from typing import TYPE_CHECKING

from advlab.errors import AdvlabError

if TYPE_CHECKING:
    from advlab.tune.study import TuneOptions

JOURNAL = "study.journal"


class TuneWorker:
    """One worker job. Duck-typed like submitit.helpers.Checkpointable: submitit calls
    `checkpoint` on a time-out or pre-emption and submits the same call again."""

    def __call__(self, opts: TuneOptions, worker: int) -> int:
        from advlab.tune.study import Objective, import_optuna, in_study, load_study

        optuna = import_optuna()
        study = load_study(optuna, opts, worker)
        objective = Objective(optuna, opts)
        while in_study(study) < opts.trials:
            study.optimize(objective, n_trials=1, catch=(AdvlabError,))
        return worker

    def checkpoint(self, *args, **kwargs):
        from advlab.report.slurm import _submitit

        return _submitit().helpers.DelayedSubmission(self, *args, **kwargs)


def run_slurm_workers(opts: TuneOptions) -> None:
    """Submit the workers as one array, wait until every job has left the queue, and say
    which of them failed (their trials are in the study either way)."""
    from advlab.report.slurm import SCHEDULERS

    cluster = opts.cluster
    folder = Path(opts.out) / "slurm"
    folder.mkdir(parents=True, exist_ok=True)
    jobs = SCHEDULERS["slurm"](folder, cluster)
    executor = jobs.executor([])
    worker_opts = type(opts)(**{**vars(opts), "threads": cluster.cpus_per_run, "jobs": 1})
    with executor.batch():
        handles = [executor.submit(TuneWorker(), worker_opts, worker) for worker in range(opts.jobs)]
    ids = [h.job_id for h in handles]
    if not opts.quiet:
        print(f"slurm launcher ({jobs.name}): {len(ids)} tune workers submitted; their files in {folder}", flush=True)
    while True:
        time.sleep(cluster.poll_seconds)
        if not [j for j in ids if j in jobs.alive()]:
            break
    for job_id in ids:
        failure = _failure(folder, job_id)
        if failure:
            print(f"warning: tune worker job {job_id} failed: {failure}", flush=True)


def _failure(folder: Path, job_id: str) -> str | None:
    """The last line of a worker job's error, from the result submitit pickled; None for a
    job that returned (a job killed without a result is said by the trials it left)."""
    path = folder / f"{job_id}_0_result.pkl"
    try:
        with open(path, "rb") as f:
            kind, value = pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError):
        return None
    if kind == "success":
        return None
    return (str(value).strip().splitlines() or ["no message"])[-1]
