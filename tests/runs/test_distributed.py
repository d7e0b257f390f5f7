"""One run over several processes (torchrun, gloo on CPU): the same result as one process up
to the order of floating-point sums, rank 0 alone writes, resume works, a dead rank ends
the run with a resumable checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from advlab.cli import main
from advlab.methods.base import Batch
from advlab.runs.checkpoint import load_checkpoint
from tests_helpers import processes_mentioning

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone"]


def args(domains, out: Path, *extra: str) -> list[str]:
    source, target = domains
    return [
        "adapt",
        "--source",
        str(source),
        "--target",
        str(target),
        "--out",
        str(out),
        "--val-size",
        "50",
        "--batch-size",
        "32",
        "--train-subset",
        "320",
        "--test-subset",
        "100",
        "--threads",
        "1",
        "--quiet",
        *extra,
    ]


def torchrun(n: int, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*TORCHRUN, "--nproc-per-node", str(n), "-m", "advlab.cli", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def close(a: dict, b: dict, keys=("loss_cls", "source_acc", "target_acc", "source_val_acc")) -> bool:
    return all(abs(a[k] - b[k]) < 1e-5 for k in keys if k in a)


def test_a_batch_is_shared_out_in_equal_consecutive_parts():
    batch = Batch(torch.arange(8), torch.arange(8) * 10, torch.arange(8) + 100, None)
    first, second = batch.shard(0, 2), batch.shard(1, 2)
    assert (
        first.xs.tolist() == [0, 1, 2, 3]
        and second.ys.tolist() == [40, 50, 60, 70]
        and second.xt.tolist() == [104, 105, 106, 107]
    )
    assert first.yt is None and batch.shard(0, 1) is batch


@pytest.mark.parametrize("method", ["dann", "mcd"])
def test_two_processes_train_the_same_run_as_one(tiny_domains, tmp_path, method):
    """dann (one optimizer step per batch) and mcd (three steps over different parameter sets)."""
    assert main(args(tiny_domains, tmp_path / "one", "--method", method, "--epochs", "2")) == 0
    result = torchrun(2, args(tiny_domains, tmp_path / "two", "--method", method, "--epochs", "2"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("done:") == 1  # rank 0 alone reports
    one, two = metrics(tmp_path / "one"), metrics(tmp_path / "two")
    assert len(one) == len(two) == 2 and all(close(a, b) for a, b in zip(one, two)), (one, two)
    a, b = load_checkpoint(tmp_path / "one" / "last.pt"), load_checkpoint(tmp_path / "two" / "last.pt")
    for name, tensor in a["model"].items():
        assert torch.allclose(tensor, b["model"][name], atol=1e-5), name
    assert json.loads((tmp_path / "two" / "summary.json").read_text())["processes"] == 2


def test_a_dead_rank_ends_the_run_and_it_resumes_to_the_same_result(tiny_domains, tmp_path):
    """A rank killed mid-run ends the job (torchrun stops the others) with the last checkpoint
    kept; --resume under torchrun then ends where an uninterrupted two-process run does."""
    assert torchrun(2, args(tiny_domains, tmp_path / "whole", "--epochs", "12")).returncode == 0
    out = tmp_path / "killed"
    job = subprocess.Popen(
        [*TORCHRUN, "--nproc-per-node", "2", "-m", "advlab.cli", *args(tiny_domains, out, "--epochs", "12")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not ((out / "metrics.jsonl").exists() and len(metrics(out)) >= 2):
        time.sleep(0.02)
    rank1 = [pid for pid in processes_mentioning(str(out)) if b"RANK=1\0" in Path(f"/proc/{pid}/environ").read_bytes()]
    assert rank1, "no rank-1 process found"
    os.kill(rank1[0], signal.SIGKILL)
    _, stderr = job.communicate(timeout=120)
    assert job.returncode != 0 and "advlab.cli" in stderr  # torchrun names the failed worker
    assert processes_mentioning(str(out)) == []
    assert 2 <= load_checkpoint(out / "last.pt")["epoch"] < 12
    result = torchrun(2, args(tiny_domains, out, "--epochs", "12", "--resume"))
    assert result.returncode == 0, result.stderr[-3000:]
    resumed, whole = metrics(out), metrics(tmp_path / "whole")
    assert len(resumed) == 12 and all(close(a, b) for a, b in zip(resumed, whole))


def test_a_batch_statistic_loss_or_backbone_is_refused_over_several_processes(tiny_domains, tmp_path):
    result = torchrun(2, args(tiny_domains, tmp_path / "dan", "--method", "dan"))
    assert (
        result.returncode != 0
        and "dan's loss is a statistic of the whole batch (MMD between the two batches)" in result.stderr
    )
    result = torchrun(2, args(tiny_domains, tmp_path / "bn", "--backbone", "dtn"))
    assert "backbone dtn normalises by the whole batch (batch norm)" in result.stderr
    result = torchrun(2, args(tiny_domains, tmp_path / "odd", "--batch-size", "31"))
    assert "batch size 31 must be a multiple of the 2 processes" in result.stderr
