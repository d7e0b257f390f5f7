"""Every epoch a run checks itself for collapse (issue 22): the record says why, the run warns,
the summary carries it, and --select never reports a degenerate checkpoint."""

from __future__ import annotations

import json

import pytest

from advlab.cli import main
from advlab.train import adapt


def run(tiny_domains, out, *extra: str) -> int:
    source, target = tiny_domains
    argv = ["adapt", "--source", str(source), "--target", str(target), "--out", str(out), "--epochs", "2"]
    argv += ["--batch-size", "32", "--val-size", "50", "--validation-size", "100", "--threads", "1", "--quiet"]
    return main([*argv, *extra])


def records(out) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_a_run_that_never_learns_the_source_task_is_flagged_and_warned_about(tiny_domains, tmp_path, capsys):
    out = tmp_path / "frozen"
    assert run(tiny_domains, out, "--method", "source_only", "--lr", "1e-9") == 0  # a learning rate that learns nothing
    said = capsys.readouterr().out
    assert all("not clearly above chance" in r["degenerate"] for r in records(out))
    assert "warning: epoch 1 looks degenerate: source validation accuracy" in said
    assert "warning: the reported checkpoint (epoch 2) is degenerate" in said
    summary = json.loads((out / "summary.json").read_text())
    assert summary["degenerate_epochs"] == [1, 2] and "above chance" in summary["degenerate"]


def test_a_healthy_run_records_no_degeneracy(tiny_domains, tmp_path, capsys):
    out = tmp_path / "fine"
    assert run(tiny_domains, out, "--method", "source_only", "--batch-size", "16", "--lr", "0.05") == 0
    assert [r["degenerate"] for r in records(out)] == [None, None]
    assert json.loads((out / "summary.json").read_text())["degenerate_epochs"] == []
    assert "degenerate" not in capsys.readouterr().out


def test_select_never_reports_a_degenerate_epoch_however_it_scores(tiny_domains, tmp_path, monkeypatch):
    """Epoch 2 is made to score best and flagged; --select reports epoch 1 and best.pt is epoch 1's."""
    flags = iter([None, "target predictions collapsed onto 1.0 effective classes of 10 (100% in one class)"])
    monkeypatch.setattr(adapt, "check_degeneracy", lambda *args: next(flags))
    monkeypatch.setattr(adapt, "score_validators", lambda *args: {"val_bnm": 1.0 if next(scores) else 9.0})
    scores = iter([True, False])
    out = tmp_path / "sel"
    assert run(tiny_domains, out, "--method", "dann", "--select", "bnm") == 0
    rows = records(out)
    assert rows[1]["val_bnm"] > rows[0]["val_bnm"] and rows[1]["degenerate"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["selected_epoch"] == 1 and summary["degenerate"] is None and summary["degenerate_epochs"] == [2]
    from advlab.runs.checkpoint import load_checkpoint

    assert load_checkpoint(out / "best.pt")["epoch"] == 1


def test_is_best_and_selected_skip_degenerate_and_unscored_epochs():
    history = [
        {"epoch": 1, "s": 0.5, "degenerate": None},
        {"epoch": 2, "s": 0.9, "degenerate": "features collapsed"},
        {"epoch": 3, "s": float("nan"), "degenerate": None},
    ]
    assert adapt.selected(history, "s")["epoch"] == 1
    assert adapt.is_best(history[1], history, "s") is False and adapt.is_best(history[2], history, "s") is False
    collapsed = [{"epoch": 1, "s": 0.9, "degenerate": "x"}]
    assert adapt.is_best(collapsed[0], collapsed, "s") is True  # a best.pt exists while nothing is eligible
    assert adapt.selected(collapsed, "s")["epoch"] == 1


@pytest.mark.e2e  # two training runs
def test_a_run_from_trained_weights_that_loses_their_source_task_is_flagged(tiny_domains, tmp_path, monkeypatch):
    """The weights --init brings are the baseline: a refinement whose first epoch keeps a third
    of their source accuracy is degenerate (SHOT fell from 0.99 to 0.53 unflagged, because the
    guard compared each epoch with the run's own epochs only)."""
    trained = tmp_path / "trained"
    assert run(tiny_domains, trained, "--method", "source_only", "--batch-size", "16", "--lr", "0.05") == 0
    start = json.loads((trained / "summary.json").read_text())["source_val_acc"]
    assert start > 0.8
    real = adapt.evaluate

    def lost_after_the_start(method, data, device, test_sets=True):
        out = real(method, data, device, test_sets)
        return out | {"source_val_acc": 0.3} if test_sets else out  # 0.3: above twice chance, far below start

    monkeypatch.setattr(adapt, "evaluate", lost_after_the_start)
    out = tmp_path / "refined"
    assert run(tiny_domains, out, "--method", "source_only", "--init", str(trained), "--epochs", "1") == 0
    [record] = records(out)
    said = f"source validation accuracy fell to 0.300 from {start:.3f} in the weights it started from"
    assert record["degenerate"].startswith(said)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["start_source_val_acc"] == start and summary["degenerate_epochs"] == [1]
    from advlab.runs.checkpoint import load_checkpoint

    assert load_checkpoint(out / "last.pt")["start_source_val_acc"] == start  # what a resume compares against


def test_a_fresh_run_has_no_start_baseline(tiny_domains, tmp_path):
    out = tmp_path / "fresh"
    assert run(tiny_domains, out, "--method", "source_only", "--epochs", "1") == 0
    assert json.loads((out / "summary.json").read_text())["start_source_val_acc"] is None
