"""Where a finished `advlab reproduce` study's time went, and the least time it could take.

Each run's summary.json says how long its training steps took (`seconds`: no start-up, no
evaluation, no checkpoints); timing.json says how long each run's process took. Training
alone, spread perfectly over the study's parallel jobs, is a floor on the study's wall time
that no scheduling or overhead cut can beat: only faster training steps or fewer of them can.

    python benchmarks/study_time.py /path/to/study-full   # seconds; writes results/study_time_<profile>.{json,md}
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

from common import machine, write_report

HERE = Path(__file__).resolve().parent


def kind(run: str) -> str:
    """The run's group: its name without the seed and threshold suffixes; the sweep is one group."""
    return "sweep" if run.startswith("sweep-") else re.sub(r"-s\d+(-t[\d.]+)?$", "", run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path, help="the --out directory of a finished advlab reproduce")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2, one per core)")
    args = parser.parse_args()
    for name in ("profile.txt", "timing.json", "runs"):
        if not (args.study / name).exists():
            parser.error(f"{args.study} is not an advlab reproduce directory (no {name})")
    profile = (args.study / "profile.txt").read_text().strip()
    process = {r["run"]: r["seconds"] for r in json.loads((args.study / "timing.json").read_text())["runs"]}
    groups: dict[str, dict[str, float]] = defaultdict(lambda: {"runs": 0, "train_minutes": 0.0, "process_minutes": 0.0})
    for summary_path in sorted((args.study / "runs").glob("*/summary.json")):
        name = summary_path.parent.name
        group = groups[kind(name)]
        group["runs"] += 1
        group["train_minutes"] += json.loads(summary_path.read_text())["seconds"] / 60
        group["process_minutes"] += process.get(name, 0.0) / 60
    train = sum(g["train_minutes"] for g in groups.values())
    processes = sum(g["process_minutes"] for g in groups.values())
    report = {
        "study": str(args.study),
        "profile": profile,
        "jobs": args.jobs,
        "machine": machine(),
        "groups": dict(groups),
        "train_minutes": train,
        "process_minutes": processes,
        "floor_wall_minutes": train / args.jobs,
        "process_wall_minutes": processes / args.jobs,
    }
    write_report(report, HERE / "results" / f"study_time_{profile}", markdown)


def markdown(r: dict) -> str:
    lines = [
        f"# Where the `{r['profile']}` study's time went",
        "",
        f"`python benchmarks/study_time.py {r['study']}` · {r['machine']['cpu_count']} CPU cores, torch "
        f"{r['machine']['torch']}",
        "",
        "| runs | count | training minutes | process minutes |",
        "|---|---|---|---|",
    ]
    for name, g in r["groups"].items():
        lines.append(f"| `{name}` | {g['runs']} | {g['train_minutes']:.1f} | {g['process_minutes']:.1f} |")
    lines += [
        f"| all | {sum(g['runs'] for g in r['groups'].values())} | {r['train_minutes']:.1f} | "
        f"{r['process_minutes']:.1f} |",
        "",
        f"Spread perfectly over {r['jobs']} jobs, the training steps alone take {r['floor_wall_minutes']:.0f} minutes "
        "of wall time "
        f"and the run processes {r['process_wall_minutes']:.0f} minutes. A process killed mid-way and resumed "
        "loses its unfinished piece from the second column, which can then fall below the first.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
