"""Benchmark: one `dann` run as 2 processes x 1 thread (torchrun, gloo) against 1 process x
2 threads, training images per second, on this machine.

Both are the real `advlab adapt` (all 59k source + 59k target images, 1 epoch, no
validators), run alternately `--repeats` times in one invocation so that drift of the
machine's speed hits both; the median of each. Run it on an idle machine. Writes
benchmarks/results/processes.{json,md}.

    python benchmarks/processes.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from common import machine, write_report

HERE = Path(__file__).resolve().parent
ARGS = ("adapt", "--method", "dann", "--epochs", "1", "--validation-size", "0", "--quiet")


def one_run(layout: str, out: Path) -> float:
    if layout == "1 process x 2 threads":
        cmd = [sys.executable, "-m", "advlab.cli", *ARGS, "--threads", "2", "--out", str(out)]
    else:
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            "-m",
            "advlab.cli",
            *ARGS,
            "--threads",
            "1",
            "--out",
            str(out),
        ]
    subprocess.run(cmd, check=True, capture_output=True)
    return json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["images_per_second"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "processes")
    args = parser.parse_args()
    layouts = ("1 process x 2 threads", "2 processes x 1 thread")
    speeds: dict[str, list[float]] = {layout: [] for layout in layouts}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for layout in layouts:
                speeds[layout].append(one_run(layout, Path(tmp) / f"{r}-{layout[0]}"))
                print(f"{layout}: {speeds[layout][-1]:.0f} images/s", flush=True)
    medians = {layout: statistics.median(v) for layout, v in speeds.items()}
    report = {
        "benchmark": "processes",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "command": "advlab " + " ".join(ARGS),
        "images_per_second": speeds,
        "median": medians,
        "two_processes_vs_two_threads": medians[layouts[1]] / medians[layouts[0]],
    }

    def markdown(rep: dict) -> str:
        lines = [
            "# One run over 2 processes against 2 threads",
            "",
            f"`{rep['command']}`, alternated {args.repeats}× in one invocation; "
            "training images per second (source + target) of the epoch, median:",
            "",
            "| layout | images / s | runs |",
            "|---|---|---|",
        ]
        lines += [
            f"| {k} | {rep['median'][k]:.0f} | {', '.join(f'{v:.0f}' for v in rep['images_per_second'][k])} |"
            for k in layouts
        ]
        m = rep["machine"]
        lines += [
            "",
            f"2 processes × 1 thread run at {rep['two_processes_vs_two_threads']:.2f}× the speed of 1 process × 2 "
            "threads; "
            f"{m['processor']}, {m['cpu_count']} cores, torch {m['torch']}, {rep['date']}.",
            "",
        ]
        return "\n".join(lines)

    write_report(report, args.out, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
