"""Check: refactors of the engine keep every result, number for number.

Each baseline is the output of short runs written by the last revision before a refactor,
kept under benchmarks/results/engine_refactor/:

- `999785f/` (the files directly in engine_refactor/): the five adapt runs that existed
  before the method engine;
- `ba8dc46/`: every method and the practical's three GAN variants, before the open engine
  (backbones, the trainer's hooks, the GAN game; issue 23).

This script reruns each baseline's commands with the current code and compares every field
of every epoch of `metrics.jsonl` (adapt) and every row of `losses.csv` (gan), except the
timings (train_seconds, images_per_second) and what a baseline lists as changed on purpose.
Needs the real MNIST / MNIST-M ($ADVLAB_DATA).

    python benchmarks/engine_refactor_check.py                 # both baselines, ~6 minutes on 2 cores
    python benchmarks/engine_refactor_check.py --only ba8dc46  # one of them
    # write a new baseline from the code on PYTHONPATH (the revision before a refactor):
    PYTHONPATH=/path/to/old/checkout/src python benchmarks/engine_refactor_check.py --record ba8dc46

The numbers are the same run after run on one machine, but not across CPUs: oneDNN picks
other kernels for another instruction set (seen: an AMD EPYC with avx512_bf16 and an Intel
Xeon without it differ in the fifth decimal of the third GAN iteration, for the old code and
the new alike). Each baseline records the CPU it was made on (`machine.txt`); on another
CPU, record the old revision's outputs into a folder of your own and compare against that:

    PYTHONPATH=/path/to/old/checkout/src python benchmarks/engine_refactor_check.py --record ba8dc46 --folder /tmp/here
    python benchmarks/engine_refactor_check.py --only ba8dc46 --folder /tmp/here
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "engine_refactor"
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
GAN_COMMON = ["--epochs", "1", "--train-subset", "3000", "--eval-samples", "0", "--threads", "1", "--quiet"]
TIMING = ("train_seconds", "images_per_second", "validation_seconds")
ALL_METHODS = (
    "source_only",
    "target_only",
    "dann",
    "dann_no_grl",
    "cdan",
    "cdan_e",
    "dan",
    "coral",
    "mcc",
    "mdd",
    "mcd",
    "adda",
)
PSEUDO_LABEL = ["--method", "pseudo_label", "--rounds", "2", "--pl-threshold", "0.5", "--init", "{source_only}"]


@dataclass(frozen=True)
class Baseline:
    folder: Path
    adapt: dict[str, list[str]]  # run name -> its extra arguments; {source_only} is that run's folder
    gan: tuple[str, ...] = ()  # variants
    changed_on_purpose: tuple[str, ...] = field(default=())  # fields left out of the comparison, with a reason


BASELINES = {
    "999785f": Baseline(
        RESULTS,
        {
            "source_only": ["--method", "source_only", "--select", "source_val"],
            "target_only": ["--method", "target_only"],
            "dann": ["--method", "dann"],
            "dann_no_grl": ["--method", "dann_no_grl"],
            "pseudo_label": PSEUDO_LABEL,
        },
        # domain_acc is balanced accuracy since the engine (it pooled the two test sets, whose
        # sizes differ); the training it reports on is checked by every other field
        changed_on_purpose=("domain_acc",),
    ),
    "ba8dc46": Baseline(
        RESULTS / "ba8dc46",
        {
            **{m: ["--method", m] for m in ALL_METHODS},
            "source_only": ["--method", "source_only", "--select", "source_val"],
            "pseudo_label": PSEUDO_LABEL,
        },
        gan=("conditional", "unconditional", "no_label_in_d"),
    ),
}


def records(path: Path, drop: tuple[str, ...], keys: set[str] | None = None) -> list[dict]:
    """Every field but the timings and `drop` (and, given `keys`, only those: fields added
    since, such as the label-free validators' val_* scores, are not part of the comparison)."""
    rows = [
        {k: v for k, v in json.loads(line).items() if k not in TIMING + drop} for line in path.read_text().splitlines()
    ]
    return [{k: v for k, v in r.items() if keys is None or k in keys} for r in rows]


def run(args: list[str]) -> None:
    subprocess.run([sys.executable, "-m", "advlab.cli", *args], check=True, stdout=subprocess.DEVNULL)


def outputs(baseline: Baseline, tmp: Path) -> dict[str, Path]:
    """Run the baseline's commands with the code on the path: name -> the file to compare."""
    files = {}
    for name, extra in baseline.adapt.items():
        out = tmp / name
        run(["adapt", *COMMON, *[a.format(source_only=tmp / "source_only") for a in extra], "--out", str(out)])
        files[f"{name}.jsonl"] = out / "metrics.jsonl"
    for variant in baseline.gan:
        out = tmp / f"gan-{variant}"
        run(["gan", "--variant", variant, *GAN_COMMON, "--out", str(out)])
        files[f"gan-{variant}.csv"] = out / "losses.csv"
    return files


def first_difference(expected: Path, got: Path, drop: tuple[str, ...]) -> str | None:
    """None where the two agree, else where they first differ (row and field, both values)."""
    if expected.suffix == ".csv":  # losses.csv has no timings: byte for byte
        want, have = expected.read_text().splitlines(), got.read_text().splitlines()
        for i, (a, b) in enumerate(zip(want, have)):
            if a != b:
                return f"row {i}: {a} != {b}"
        return None if len(want) == len(have) else f"{len(want)} rows != {len(have)}"
    want = records(expected, drop)
    have = records(got, drop, set(want[0]))
    for i, (a, b) in enumerate(zip(want, have)):
        for k in a:
            if a[k] != b.get(k):
                return f"epoch {i + 1} {k}: {a[k]!r} != {b.get(k)!r}"
    return None if len(want) == len(have) else f"{len(want)} epochs != {len(have)}"


def cpu() -> str:
    """The CPU's model and the instruction sets that choose oneDNN's kernels."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    isa = sorted(f for f in flags if f.startswith(("avx512", "amx", "avx2", "avx_vnni")))
    return f"{model or platform.processor()} | {' '.join(isa)}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=tuple(BASELINES), help="check one baseline")
    parser.add_argument("--record", choices=tuple(BASELINES), help="write this baseline from the code on the path")
    parser.add_argument("--folder", type=Path, help="record into / compare against this folder (another CPU)")
    args = parser.parse_args()
    if args.folder and not (args.record or args.only):
        parser.error("--folder goes with --record or --only (one baseline a folder)")
    baselines = {
        k: dataclasses.replace(b, folder=args.folder) if args.folder and k in (args.record, args.only) else b
        for k, b in BASELINES.items()
    }
    if args.record:
        baseline = baselines[args.record]
        baseline.folder.mkdir(parents=True, exist_ok=True)
        (baseline.folder / "machine.txt").write_text(cpu())
        with tempfile.TemporaryDirectory() as tmp:
            for name, path in outputs(baseline, Path(tmp)).items():
                shutil.copyfile(path, baseline.folder / name)
                print(f"recorded {baseline.folder / name}")
        return 0
    failed = []
    for key, baseline in baselines.items():
        if args.only and key != args.only:
            continue
        made_on = baseline.folder / "machine.txt"
        if made_on.exists() and made_on.read_text() != cpu():
            print(
                f"note: {key} was recorded on another CPU ({made_on.read_text().strip()}); expect differences in "
                "the last digits (see the docstring)",
                flush=True,
            )
        with tempfile.TemporaryDirectory() as tmp:
            for name, path in outputs(baseline, Path(tmp)).items():
                difference = first_difference(baseline.folder / name, path, baseline.changed_on_purpose)
                ok = difference is None
                print(f"{key} {name}: {'identical' if ok else f'DIFFERENT ({difference})'}", flush=True)
                failed += [] if ok else [f"{key} {name}"]
    print("all identical" if not failed else f"{len(failed)} differ: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
