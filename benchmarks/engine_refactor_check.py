"""Check: short runs of the methods that existed before the method engine give the same
metrics as before it, number for number.

benchmarks/results/engine_refactor/<method>.jsonl were written by revision 999785f (the
last one before the engine) with the commands below; this script reruns them with the
current code and compares every field of every epoch except the timings
(train_seconds, images_per_second). Needs the real MNIST / MNIST-M ($ADVLAB_DATA).

    python benchmarks/engine_refactor_check.py      # about a minute on 2 cores
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "results" / "engine_refactor"
COMMON = [
    "--train-subset",
    "6000",
    "--test-subset",
    "1000",
    "--epochs",
    "4",
    "--threads",
    "1",
    "--quiet",
    "--val-size",
    "200",
]
RUNS = {  # name -> extra arguments; pseudo_label starts from the source_only run
    "source_only": ["--method", "source_only", "--select", "source_val"],
    "target_only": ["--method", "target_only"],
    "dann": ["--method", "dann"],
    "dann_no_grl": ["--method", "dann_no_grl"],
    "pseudo_label": ["--method", "pseudo_label", "--rounds", "2", "--pl-threshold", "0.5", "--init", "{source_only}"],
}
TIMING = ("train_seconds", "images_per_second")
# domain_acc is balanced accuracy since the engine (it pooled the two test sets, whose sizes
# differ); the training it reports on is checked by every other field
CHANGED_ON_PURPOSE = ("domain_acc",)


def records(path: Path, keys: set[str] | None = None) -> list[dict]:
    """Every field but the timings (and, given `keys`, only those: fields added since, such
    as the label-free validators' val_* scores, are not part of the comparison)."""
    rows = [
        {k: v for k, v in json.loads(line).items() if k not in TIMING + CHANGED_ON_PURPOSE}
        for line in path.read_text().splitlines()
    ]
    return [{k: v for k, v in r.items() if keys is None or k in keys} for r in rows]


def main() -> int:
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in RUNS.items():
            out = Path(tmp) / name
            args = [a.format(source_only=Path(tmp) / "source_only") for a in extra]
            subprocess.run(
                [sys.executable, "-m", "advlab.cli", "adapt", *COMMON, *args, "--out", str(out)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            expected = records(EXPECTED / f"{name}.jsonl")
            same = records(out / "metrics.jsonl", set(expected[0])) == expected
            print(f"{name}: {'identical' if same else 'DIFFERENT'} ({len(records(out / 'metrics.jsonl'))} epochs)")
            failed += [] if same else [name]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
