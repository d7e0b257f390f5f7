"""The smoke study through the local launcher, built once per test session even when the
suite runs on several xdist workers: the first worker to ask builds it (under a file lock)
while the others' tests go on; a later one waits for it. Tests must not change it (copy it
first)."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

from conftest import REAL_DATA
from tests_helpers import run_cli


def have_real_data() -> bool:
    return (REAL_DATA / "mnist" / "train-images-idx3-ubyte.gz").is_file() and (
        REAL_DATA / "mnist_m" / "mnist_m.tar.gz"
    ).is_file()


def smoke_study(tmp_path_factory) -> Path:
    """DIR of `advlab reproduce --profile smoke --jobs 2`; its stdout beside it in smoke-study-stdout.txt."""
    import pytest

    if not have_real_data():
        pytest.skip(f"real MNIST / MNIST-M not found under {REAL_DATA} (set ADVLAB_DATA to the shared data folder)")
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the workers' common folder
    out = shared / "smoke-study"
    with open(shared / "smoke-study.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "report.md").exists():
            shutil.rmtree(out, ignore_errors=True)
            result = run_cli(
                "reproduce",
                "--profile",
                "smoke",
                "--out",
                str(out),
                "--jobs",
                "2",
                "--status-every",
                "5",  # the runs take under a minute: the line must still be seen
                "--data-dir",
                str(REAL_DATA),
                timeout=900,
            )
            assert result.returncode == 0, result.stderr
            (shared / "smoke-study-stdout.txt").write_text(result.stdout)
    return out
