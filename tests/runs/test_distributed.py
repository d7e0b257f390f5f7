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


def test_a_batch_statistic_loss_is_refused_by_a_real_torchrun_job(tiny_domains, tmp_path):
    result = torchrun(2, args(tiny_domains, tmp_path / "dan", "--method", "dan"))
    assert (
        result.returncode != 0
        and "dan's loss is a statistic of the whole batch (MMD between the two batches)" in result.stderr
    )
    assert not (tmp_path / "dan" / "metrics.jsonl").exists()


def test_what_cannot_be_split_over_processes_is_refused_for_every_method_and_backbone():
    """The rules the job above reaches, checked in-process (World as a torchrun rank sees it):
    each method or backbone that declares a batch statistic is refused, every other passes,
    and a batch must split evenly."""
    from advlab.backbones import BACKBONES
    from advlab.config import resolve
    from advlab.errors import AdvlabError
    from advlab.methods import METHODS
    from advlab.runs.distributed import World
    from advlab.train.adapt import refuse_over_processes
    from advlab.train.config import AdaptConfig

    two = World(rank=1, size=2)

    def refusal(**fields) -> str | None:
        cfg = resolve(AdaptConfig, fields)
        try:
            refuse_over_processes(cfg, two)
        except AdvlabError as e:
            return str(e)
        return None

    for name, method in METHODS.items():
        said = refusal(method=name, **({"init": "x"} if method.needs_init else {}))
        assert (said is not None) == bool(method.batch_statistic), name
        if said:
            assert said.startswith(f"{name}'s loss is a statistic of the whole batch ({method.batch_statistic})")
    for name, backbone in BACKBONES.items():
        said = refusal(backbone=name)
        assert (said is not None) == bool(backbone.batch_statistic), name
    assert "backbone dtn normalises by the whole batch (batch norm)" in refusal(backbone="dtn")
    assert refusal(batch_size=31) == "batch size 31 must be a multiple of the 2 processes that share each batch"
    assert refusal(batch_size=32) is None
