"""The Slurm launcher's scheduler for the tests: submitit's local executor, each job a
process on this machine (no Slurm needed). Pass it as `launch(..., scheduler=LocalJobs)`."""

from __future__ import annotations

from pathlib import Path

from advlab.report.slurm import SlurmOptions, _submitit


class LocalJobs:
    """submitit's local executor: each job a process on this machine, for the tests. No
    dependencies: the launcher submits children once their parents' jobs have ended."""

    name = "submitit-local"
    dependencies = False

    def __init__(self, folder: Path, options: SlurmOptions):
        self.folder, self.options = folder, options

    def executor(self, after: list[str]):
        executor = _submitit().LocalExecutor(folder=self.folder, max_num_timeout=self.options.max_requeues)
        executor.update_parameters(timeout_min=self.options.time_limit_min)
        return executor

    def alive(self) -> dict[str, str]:
        running = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                state = stat.read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state != "Z":  # a zombie has ended; its parent has not reaped it yet
                running[stat.parent.name] = "RUNNING"
        return running
