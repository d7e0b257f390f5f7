"""A study SIGKILLed at chosen moments of each kind of run, then run again with the same
command, goes on and ends with the very results of a study never stopped.

The study (an adapt run, a GAN run, and a pseudo-labelling run that starts from the adapt
run) runs in its own process; it is killed with SIGKILL (no handler runs; its runs die with
it) as soon as the next moment is seen in the run folders: a run's record created but no
checkpoint yet, (pl only) its first checkpoint in place, its last. Each time the same study is
started again. At the end every run's metrics and final checkpoint equal the reference's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import torch

from advlab.report.runner import run_all
from advlab.report.study import Run
from advlab.runs.checkpoint import load_checkpoint
from tests_helpers import processes_mentioning


def study_runs(domains) -> list[Run]:
    source, target = map(str, domains)
    tiny = ("--train-subset", "200", "--test-subset", "100", "--val-size", "50", "--batch-size", "32")
    return [
        Run("dann", ("adapt", "--method", "dann", "--source", source, "--target", target, "--epochs", "3", *tiny)),
        Run(
            "gan",
            (
                "gan",
                "--dataset",
                source,
                "--epochs",
                "3",
                "--batch-size",
                "100",
                "--train-subset",
                "300",
                "--g-width",
                "8",
                "--d-width",
                "4",
                "--eval-samples",
                "0",
            ),
        ),
        Run(
            "pl",
            (
                "adapt",
                "--method",
                "pseudo_label",
                "--init",
                "{runs}/dann",
                "--rounds",
                "2",
                "--epochs",
                "2",
                "--pl-threshold",
                "0",
                "--source",
                source,
                "--target",
                target,
                *tiny,
            ),
            after=("dann",),
        ),
    ]


def checkpoint_epoch(path: Path) -> int:
    try:
        return int(load_checkpoint(path)["epoch"])
    except Exception:  # not there yet, or being replaced this instant
        return 0


def moments(root: Path):
    """(name, is it reached?) in the order a study reaches them."""
    runs = root / "runs"
    for name in ("dann", "gan", "pl"):
        yield f"{name}: record created, no checkpoint", lambda n=name: (runs / n / "config.yaml").exists()
        # a study killed between two checkpoints once (pl's); a run's own resume from a mid-run
        # checkpoint is what the resume tests of adapt and gan hit (tests/test_cli_adapt.py, tests/gan/test_cli_gan.py)
        if name == "pl":
            yield f"{name}: first checkpoint in place", lambda n=name: checkpoint_epoch(runs / n / "last.pt") >= 1
        yield (
            f"{name}: last checkpoint in place",
            lambda n=name: checkpoint_epoch(runs / n / "last.pt") >= (2 if n == "pl" else 3),
        )


def start_study(domains, root: Path) -> subprocess.Popen:
    runs = [(r.name, r.command, r.after) for r in study_runs(domains)]
    script = (
        "from pathlib import Path; from advlab.report.runner import run_all; from advlab.report.study import Run\n"
        f"run_all([Run(*r) for r in {runs!r}], Path({str(root)!r}), jobs=1, data_dir=None, quiet=True)\n"
    )
    return subprocess.Popen([sys.executable, "-c", script])


def without_timing(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if "seconds" not in k and "per_second" not in k} for r in records]


def same_tensors(a, b) -> bool:
    """Equal tensors and values, less times and the paths a run names (the identity's --init
    points into each study's own folder)."""
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, dict):
        keys = [k for k in a if "seconds" not in str(k) and "per_second" not in str(k) and k != "init"]
        return all(same_tensors(a[k], b[k]) for k in keys)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_tensors(x, y) for x, y in zip(a, b))
    return a == b


def test_a_study_killed_at_each_moment_of_each_kind_of_run_goes_on(tiny_domains, tmp_path):
    reference = tmp_path / "reference"
    assert {o.status for o in run_all(study_runs(tiny_domains), reference, jobs=1, data_dir=None, quiet=True)} == {
        "done"
    }

    root = tmp_path / "killed"
    killed_at = []
    for label, reached in moments(root):
        if reached():
            continue  # the last restart went past it before we looked
        study = start_study(tiny_domains, root)
        deadline = time.monotonic() + 300
        while not reached() and study.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if study.poll() is None:
            study.kill()
            killed_at.append(label)
        study.wait()
        deadline = time.monotonic() + 30
        while processes_mentioning(str(root / "runs")) and time.monotonic() < deadline:
            time.sleep(0.05)  # its runs die with it (parent-death signal)
        assert processes_mentioning(str(root / "runs")) == []
    assert len(killed_at) >= 4, killed_at  # most moments were really hit

    outcomes = {o.name: o.status for o in run_all(study_runs(tiny_domains), root, jobs=1, data_dir=None, quiet=True)}
    assert set(outcomes.values()) <= {"done", "skipped"} and not list((root / "runs").glob("*/failed.txt")), outcomes
    for name in ("dann", "pl"):
        ours, theirs = (
            [json.loads(line) for line in (r / "runs" / name / "metrics.jsonl").read_text().splitlines()]
            for r in (root, reference)
        )
        assert without_timing(ours) == without_timing(theirs), name
    assert (root / "runs" / "gan" / "losses.csv").read_text() == (reference / "runs" / "gan" / "losses.csv").read_text()
    for name in ("dann", "gan", "pl"):
        assert same_tensors(
            load_checkpoint(root / "runs" / name / "last.pt"), load_checkpoint(reference / "runs" / name / "last.pt")
        ), name
