"""Fault injection at the system-call level: a run SIGKILLed at an exact system call of its
record-keeping resumes to the same result as a run never stopped.

`strace -e inject=SYSCALL:signal=SIGKILL:when=N` delivers SIGKILL instead of the N-th call
of SYSCALL by the run's main thread, so the kill lands at a chosen point of the run's I/O:
inside the write of the epoch-2 checkpoint's temporary file, at its fsync, at the rename
that would put it in place, and at the append of epoch 2's metrics (adapt's
metrics.jsonl, the GAN's losses.csv). N is read off an strace of the uninterrupted
reference run (`-y` names each call's file), and each case first checks that the kill
really landed there (what the folder holds after it), then resumes it and compares every
metric and every tensor of the final checkpoint with the reference. Each GAN remedy (packing,
spectral norm, the projection D) is killed the same way at its epoch-2 checkpoint's rename.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from advlab.cli import main
from advlab.runs.checkpoint import load_checkpoint

TRACED = ("write", "fsync", "rename")


def _strace_usable() -> str | None:
    if shutil.which("strace") is None:
        return "strace is not installed (Debian package strace)"
    probe = subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "trace=fsync",
            "-e",
            "inject=fsync:signal=SIGKILL:when=1",
            sys.executable,
            "-c",
            "import os; os.fsync(1)",
        ],
        capture_output=True,
        text=True,
    )
    if probe.returncode != -9 and probe.returncode != 137:
        said = probe.stderr.strip()[:200]
        return f"strace cannot inject faults here (ptrace not permitted?): exit {probe.returncode}, {said}"
    return None


@pytest.fixture(scope="module")
def strace_ok():
    why = _strace_usable()
    if why:
        pytest.skip(why)


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...]  # without --out
    log: str  # the file a finished epoch appends to

    def argv(self, domains, out: Path) -> list[str]:
        return [a.format(source=domains[0], target=domains[1]) for a in self.args] + ["--out", str(out)]


COMMANDS = {
    "adapt": Command(
        "adapt",
        (
            "adapt",
            "--source",
            "{source}",
            "--target",
            "{target}",
            "--val-size",
            "50",
            "--epochs",
            "3",
            "--batch-size",
            "32",
            "--train-subset",
            "200",
            "--test-subset",
            "100",
            "--threads",
            "1",
            "--quiet",
        ),
        "metrics.jsonl",
    ),
    "gan": Command(
        "gan",
        (
            "gan",
            "--dataset",
            "{source}",
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
            "--threads",
            "1",
            "--quiet",
        ),
        "losses.csv",
    ),
}

CHECKPOINT_IN_PLACE = r'"[^"]*/\.last\.pt\.[^"]*\.tmp", "[^"]*/last\.pt"'  # the rename that publishes a checkpoint

# each GAN remedy (issue: GAN variants) killed at one moment: its own state (packing's shapes,
# spectral norm's power-iteration vectors, the projection's embedding) must resume exactly
GAN_REMEDIES = {
    "pack 2": ("--pack", "2"),
    "spectral norm + hinge": ("--spectral-norm", "--loss", "hinge"),
    "projection D": ("--d-conditioning", "projection"),
}

# (moment, syscall, which of the main thread's calls of it on the traced file, in epoch 2)
MOMENTS = {
    "checkpoint temp write": ("write", r"/\.last\.pt\.[^/>]*\.tmp>", "middle"),
    "checkpoint fsync": ("fsync", r"/\.last\.pt\.[^/>]*\.tmp>", "first"),
    "checkpoint rename": ("rename", CHECKPOINT_IN_PLACE, "first"),
    "epoch log append": ("write", None, "first"),  # None: the command's log file
}


def traced(argv: list[str], trace: Path, inject: str | None = None) -> subprocess.CompletedProcess:
    cmd = ["strace", "-f", "-qq", "-y", "-o", str(trace), "-e", "trace=" + ",".join(TRACED)]
    cmd += ["-e", f"inject={inject}"] if inject else []
    return subprocess.run(
        [*cmd, sys.executable, "-m", "advlab.cli", *argv], capture_output=True, text=True, timeout=600
    )


def main_thread_calls(trace: Path) -> list[tuple[str, str]]:
    """(syscall, its line) of the traced process's main thread, in order."""
    lines = trace.read_text().splitlines()
    main_pid = lines[0].split()[0]
    calls = []
    for line in lines:
        pid, _, rest = line.partition(" ")
        name = rest.lstrip().split("(", 1)[0]
        if pid == main_pid and name in TRACED:
            calls.append((name, rest))
    return calls


def reference_run(command: Command, domains, folder: Path) -> tuple[Path, list[tuple[str, str]]]:
    """The command run once uninterrupted under strace: its folder and its main thread's calls."""
    out = folder / command.name
    folder.mkdir(parents=True, exist_ok=True)
    result = traced(command.argv(domains, out), folder / "trace")
    assert result.returncode == 0, result.stderr[-2000:]
    return out, main_thread_calls(folder / "trace")


@pytest.fixture(scope="module")
def reference(strace_ok, tiny_domains, tmp_path_factory):
    return {
        name: reference_run(command, tiny_domains, tmp_path_factory.mktemp("reference"))
        for name, command in COMMANDS.items()
    }


def injection_point(calls: list[tuple[str, str]], syscall: str, pattern: str, which: str) -> tuple[int, int]:
    """(N for `when=N`, the epoch of the checkpoint in place when that call is made): the
    chosen call of `syscall` matching `pattern` in epoch 2, counted among all the main
    thread's calls of that syscall (as strace counts them)."""
    of_syscall = [(position, line) for position, (name, line) in enumerate(calls) if name == syscall]
    # the matching calls grouped into one group per epoch: a group goes on while the calls
    # follow each other on the same file (a checkpoint's temporary file is new every epoch)
    groups: list[list[int]] = []
    previous_file = None
    for index, (_, line) in enumerate(of_syscall, 1):
        if re.search(pattern, line):
            file = re.search(r'<([^>]*)>|"([^"]*)"', line).group(0)
            if groups and groups[-1][-1] == index - 1 and file == previous_file:
                groups[-1].append(index)
            else:
                groups.append([index])
            previous_file = file
    assert len(groups) >= 3, f"expected a group of {syscall} calls per epoch, got {len(groups)}"
    epoch2 = groups[1]
    n = epoch2[len(epoch2) // 2] if which == "middle" else epoch2[0]
    position = of_syscall[n - 1][0]
    in_place = sum(1 for name, line in calls[:position] if name == "rename" and re.search(CHECKPOINT_IN_PLACE, line))
    return n, in_place


def same(a, b, where: str = "") -> None:
    """Every tensor and number equal; time measurements left out."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, dict):
        keys = {k for k in a if "seconds" not in str(k) and "per_second" not in str(k)}
        assert keys == {k for k in b if "seconds" not in str(k) and "per_second" not in str(k)}, where
        for k in keys:
            same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def records(out: Path, log: str) -> list:
    text = (out / log).read_text()
    if log.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines()]
    return text.splitlines()


@pytest.mark.parametrize("moment", list(MOMENTS))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_kill_at_a_system_call_then_resume_is_identical(reference, tiny_domains, tmp_path, command, moment):
    kill_resume_compare(COMMANDS[command], *reference[command], moment, tiny_domains, tmp_path)


@pytest.mark.parametrize("remedy", list(GAN_REMEDIES))
def test_each_gan_remedy_resumes_exactly_after_a_kill(strace_ok, tiny_domains, tmp_path, remedy):
    base = COMMANDS["gan"]
    cmd = Command("gan", (*base.args, *GAN_REMEDIES[remedy]), base.log)
    ref_out, calls = reference_run(cmd, tiny_domains, tmp_path / "reference")
    kill_resume_compare(cmd, ref_out, calls, "checkpoint rename", tiny_domains, tmp_path)


def kill_resume_compare(
    cmd: Command, ref_out: Path, calls: list[tuple[str, str]], moment: str, tiny_domains, tmp_path: Path
) -> None:
    syscall, pattern, which = MOMENTS[moment]
    pattern = pattern or re.escape(f"/{cmd.log}>")
    n, in_place = injection_point(calls, syscall, pattern, which)

    out = tmp_path / "run"
    killed = traced(cmd.argv(tiny_domains, out), tmp_path / "trace", inject=f"{syscall}:signal=SIGKILL:when={n}")
    assert killed.returncode in (-9, 137), f"the run was not killed (exit {killed.returncode}): {killed.stderr[-1000:]}"

    # the kill landed where intended: the checkpoint in place is the one before that call
    # (epoch 1's, or epoch 2's where the epoch's log is appended after its checkpoint)
    assert in_place in (1, 2) and load_checkpoint(out / "last.pt")["epoch"] == in_place
    temporaries = list(out.glob(".last.pt.*.tmp"))
    assert bool(temporaries) == moment.startswith("checkpoint"), temporaries
    assert not (out / "summary.json").exists()

    assert main([*cmd.argv(tiny_domains, out), "--resume"]) == 0
    assert not list(out.glob(".*.tmp")), "a resume removes the temporaries a kill left"
    same(records(out, cmd.log), records(ref_out, cmd.log), cmd.log)
    same(load_checkpoint(out / "last.pt"), load_checkpoint(ref_out / "last.pt"), "last.pt")
