"""Where a study's time went, kept across invocations.

A full study can outlast one sitting: it is stopped and resumed, and the report should
still say how much wall time and run time it took in all. DIR/timing.json holds one entry
per invocation (its wall time so far, rewritten after every run, so a killed invocation
keeps what it had done) and one per executed run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from advlab.report.provenance import now
from advlab.runs.files import atomic_write

FILE = "timing.json"


def read_timing(root: Path) -> dict:
    path = root / FILE
    if not path.exists():
        return {"invocations": [], "runs": []}
    return json.loads(path.read_text())


class StudyClock:
    """Appends this invocation to DIR/timing.json and keeps it up to date."""

    def __init__(self, root: Path, jobs: int):
        self.root, self.started = root, time.perf_counter()
        self.timing = read_timing(root)
        self.entry = {"started": now(), "jobs": jobs, "seconds": 0.0, "runs": 0}
        self.timing["invocations"].append(self.entry)
        self._write()

    def record(self, name: str, status: str, seconds: float) -> None:
        """One run executed by this invocation (skipped runs cost nothing and are not kept)."""
        self.entry["seconds"] = time.perf_counter() - self.started
        if status != "skipped":
            self.entry["runs"] += 1
            self.timing["runs"].append({"run": name, "status": status, "seconds": round(seconds, 1), "finished": now()})
        self._write()

    def stop(self) -> None:
        self.entry["seconds"] = time.perf_counter() - self.started
        self._write()

    def _write(self) -> None:
        atomic_write(self.root / FILE, json.dumps(self.timing, indent=1) + "\n")


def totals(timing: dict) -> dict:
    """Wall time over all invocations, and each run's time summed over its executions."""
    per_run: dict[str, float] = {}
    for r in timing["runs"]:
        per_run[r["run"]] = per_run.get(r["run"], 0.0) + r["seconds"]
    return {
        "wall_seconds": sum(i["seconds"] for i in timing["invocations"]),
        "invocations": len(timing["invocations"]),
        "run_seconds": sum(per_run.values()),
        "per_run": per_run,
    }
