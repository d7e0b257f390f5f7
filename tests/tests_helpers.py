"""Helpers importable from test modules (conftest fixtures cover the rest)."""

import subprocess
import sys
from pathlib import Path

import torch

from advlab.data.domains import Split
from conftest import synthetic_digits


def synthetic_split(n: int, seed: int) -> Split:
    x, y = synthetic_digits(n, seed, colour=False)
    return Split(torch.from_numpy(x[:, None]), torch.from_numpy(y))


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`advlab ARGS...` in a real process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "advlab.cli", *args], capture_output=True, text=True, timeout=timeout)


def run_here(*args: str) -> subprocess.CompletedProcess:
    """`advlab ARGS...` in this process, as `run_cli` reports it: for bad-value cases, where a
    real process (an interpreter and torch start, seconds each) adds nothing. argparse's own
    errors end in SystemExit, taken as the exit status; any other exception is a bug the test
    shows whole."""
    import contextlib
    import io

    from advlab.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert fragment in lines[0]


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains `text` (say, a run directory): what a stop left behind."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:  # it ended meanwhile
            pass
    return found
