"""The run engine: atomic writes, refusing to overwrite a run, the non-finite guard, the epoch loop."""

import os

import pytest
import torch

from advlab.errors import AdvlabError, DivergedError
from advlab.runs.engine import NonFiniteLoss, check_finite, diverged, open_run, run_epochs
from advlab.runs.files import atomic_write


def test_atomic_write_replaces_whole_files_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write(path, "one")
    atomic_write(path, b"two")
    atomic_write(path, lambda f: f.write(b"three"))
    assert path.read_text() == "three" and os.listdir(tmp_path) == ["f.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write(path, "good")

    def half(f):
        f.write(b"ha")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(path, half)
    assert path.read_text() == "good" and os.listdir(tmp_path) == ["f.txt"]


def test_open_run_refuses_a_folder_holding_a_run(tmp_path):
    open_run(tmp_path / "r", resume=False, record="metrics.jsonl", kind="adapt")
    (tmp_path / "r" / "metrics.jsonl").write_text("{}\n")
    with pytest.raises(AdvlabError, match="already holds a run"):
        open_run(tmp_path / "r", resume=False, record="metrics.jsonl", kind="adapt")
    assert open_run(tmp_path / "r", resume=True, record="metrics.jsonl", kind="adapt").path == tmp_path / "r"


def test_check_finite_and_the_message_it_becomes(tmp_path):
    check_finite(torch.tensor(1.0))
    with pytest.raises(NonFiniteLoss) as caught:
        check_finite(torch.tensor(float("inf")))
    run = open_run(tmp_path / "r", resume=False, record="m", kind="adapt")
    assert "loss became inf" in str(diverged(caught.value, "epoch 1", run, 0)) and "no epoch had finished" in str(
        diverged(caught.value, "epoch 1", run, 0)
    )
    assert isinstance(diverged(caught.value, "epoch 3", run, 2), DivergedError) and "(epoch 2) is kept" in str(
        diverged(caught.value, "epoch 3", run, 2)
    )


def test_run_epochs_calls_begin_step_and_end_in_order():
    calls = []
    run_epochs(
        1,
        3,
        2,
        step=lambda e, i: calls.append(("step", e, i)),
        end_epoch=lambda e, s: calls.append(("end", e)),
        quiet=True,
        begin=lambda e: calls.append(("begin", e)),
    )
    assert calls == [
        ("begin", 1),
        ("step", 1, 0),
        ("step", 1, 1),
        ("end", 1),
        ("begin", 2),
        ("step", 2, 0),
        ("step", 2, 1),
        ("end", 2),
    ]


def test_open_run_never_takes_a_folder_of_user_files(tmp_path):
    """--out at a folder with a user's config.yaml and summary.json used to overwrite both."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "config.yaml").write_text("lr: 0.1\n")
    with pytest.raises(AdvlabError, match="holds files advlab did not write"):
        open_run(folder, resume=False, record="metrics.jsonl", kind="adapt")
    with pytest.raises(AdvlabError, match="holds files advlab did not write"):
        open_run(folder, resume=True, record="metrics.jsonl", kind="adapt")
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml"]
    (tmp_path / "empty").mkdir()
    assert open_run(tmp_path / "empty", resume=False, record="metrics.jsonl", kind="adapt").path.is_dir()


def test_open_run_refuses_another_commands_run(tmp_path):
    open_run(tmp_path / "r", resume=False, record="losses.csv", kind="gan")
    with pytest.raises(AdvlabError, match="holds an advlab gan run"):
        open_run(tmp_path / "r", resume=True, record="metrics.jsonl", kind="adapt")


def test_one_process_at_a_time_trains_into_a_run(tmp_path):
    first = open_run(tmp_path / "r", resume=False, record="metrics.jsonl", kind="adapt")
    with pytest.raises(AdvlabError, match="another advlab process is training"):
        open_run(tmp_path / "r", resume=True, record="metrics.jsonl", kind="adapt")
    first.lock.close()  # what the end of the first process does
    open_run(tmp_path / "r", resume=True, record="metrics.jsonl", kind="adapt")


def test_half_written_files_of_a_killed_write_are_removed(tmp_path):
    run = open_run(tmp_path / "r", resume=False, record="metrics.jsonl", kind="adapt")
    (run.path / "last.pt").write_bytes(b"good")
    (run.path / ".last.pt.k2j3.tmp").write_bytes(b"half")
    run.lock.close()
    open_run(tmp_path / "r", resume=True, record="metrics.jsonl", kind="adapt")
    assert not list(run.path.glob(".*.tmp")) and (run.path / "last.pt").read_bytes() == b"good"
