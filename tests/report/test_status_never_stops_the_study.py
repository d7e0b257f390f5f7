"""Nothing that only reports progress may stop the work it reports on.

The once-a-minute status line of `advlab reproduce` reads files that the runs in flight are
writing. A GAN run that had created its losses.csv but written no row yet killed a whole
study (IndexError through run_all); these tests reproduce that race and its relatives.
"""

from __future__ import annotations

import time

import pytest

from advlab.report import runner
from advlab.report.runner import Outcome, epoch_in_flight, run_all
from advlab.report.study import Run

ADAPT, GAN = Run("a", ("adapt", "--epochs", "20")), Run("g", ("gan", "--epochs", "5"))


@pytest.mark.parametrize(
    "content, said",
    [
        ("", "epoch 1/5"),  # created, nothing written yet: the race that killed the study
        ("iteration,epoch,loss_d\n", "epoch 1/5"),  # the header only
        ("iteration,epoch,loss_d\n1,1,0.5\n2,2,0.", "epoch 1/5"),  # a row half-written: not read
        ("iteration,epoch,loss_d\n1,1,0.5\n2,2,0.4\n", "epoch 2/5"),
        (b"\xff\xfe\x00garbage", "epoch 1/5"),  # not text at all
    ],
)
def test_gan_status_on_a_partial_losses_csv_never_raises(tmp_path, content, said):
    (tmp_path / "runs" / "g").mkdir(parents=True)
    path = tmp_path / "runs" / "g" / "losses.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert epoch_in_flight(GAN, tmp_path) == said


@pytest.mark.parametrize(
    "content, said",
    [
        ("", "epoch 1/20"),
        ('{"epoch": 1}\n{"epo', "epoch 2/20"),  # the second line is being appended: one epoch is done
        ('{"epoch": 1}\n{"epoch": 2}\n', "epoch 3/20"),
    ],
)
def test_adapt_status_on_a_partial_metrics_jsonl_never_raises(tmp_path, content, said):
    (tmp_path / "runs" / "a").mkdir(parents=True)
    (tmp_path / "runs" / "a" / "metrics.jsonl").write_text(content)
    assert epoch_in_flight(ADAPT, tmp_path) == said


def test_status_of_an_unreadable_run_is_unknown(tmp_path):
    (tmp_path / "runs" / "a" / "metrics.jsonl").mkdir(parents=True)  # a folder where a file should be
    assert epoch_in_flight(ADAPT, tmp_path) == "epoch unknown/20"
    assert epoch_in_flight(Run("b", ("adapt", "--epochs")), tmp_path) == "epoch 1/?"


def test_a_failing_status_line_does_not_stop_the_runs_in_flight(tmp_path, monkeypatch, capsys):
    """Before the fix any exception of the status line went through run_all's `except
    BaseException`, which stopped every run in flight and ended the study."""

    def slow_run(run, *args, **kwargs):
        time.sleep(1.5)
        return Outcome(run.name, "done", 1.5)

    def broken(*args, **kwargs):
        raise IndexError("list index out of range")

    monkeypatch.setattr(runner, "execute", slow_run)
    monkeypatch.setattr(runner, "epoch_in_flight", broken)
    outcomes = run_all([ADAPT, GAN], tmp_path, jobs=2, data_dir=None, status_every=0.0)
    assert [o.status for o in outcomes] == ["done", "done"]
    assert "a (unknown)" in capsys.readouterr().out


def test_a_status_line_that_cannot_be_printed_does_not_stop_the_study(tmp_path, monkeypatch):
    def slow_run(run, *args, **kwargs):
        time.sleep(1.5)
        return Outcome(run.name, "done", 1.5)

    def closed_stdout(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(runner, "execute", slow_run)
    monkeypatch.setattr("builtins.print", closed_stdout)
    outcomes = run_all([ADAPT], tmp_path, jobs=1, data_dir=None, status_every=0.0)
    assert [o.status for o in outcomes] == ["done"]


def test_partial_report_reads_the_complete_epochs_of_a_run_still_writing(tmp_path):
    """`--report-only` while a run appends its epoch line: the torn line is not read (it
    raised JSONDecodeError into the report before)."""
    from advlab.report.analysis import history

    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1, "target_acc": 0.5}\n{"epoch": 2, "tar')
    assert history(tmp_path) == [{"epoch": 1, "target_acc": 0.5}]
