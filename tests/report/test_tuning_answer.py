"""Section 7 (the study's `advlab tune` run): its table, figure and answer come from the tune
folder, and, for analysis only, from the study's own runs of the chosen method."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advlab.report.build import Study, _tuning
from advlab.report.document import Document
from advlab.report.study import PROFILES
from advlab.tune.report import summary
from advlab.tune.study import TuneOptions

pytestmark = pytest.mark.unit


def trial(number: int, method: str, score: float, state: str = "complete", degenerate: str | None = None) -> dict:
    return {
        "number": number,
        "method": method,
        "params": {"lr": 0.01},
        "state": state,
        "score": score,
        "selection_score": score if state == "complete" else None,
        "degenerate": degenerate,
        "error": None,
        "pruned": None,
        "target_acc_analysis_only": 0.5,
        "scores": {"class_ami": score},
        "run_dir": f"trials/{number}-{method}",
    }


def tune_folder(root: Path, best_method: str, adapt: bool) -> None:
    rows = [trial(0, "source_only", 0.2), trial(1, "dann", 0.6), trial(2, "dan", 0.9, "pruned", "features collapsed")]
    best = rows[1] if best_method == "dann" else rows[0]
    verdict = "adapt: dann (trial 1) 0.6000 by ensv against source_only (trial 0) 0.2000, +0.4000"
    result = {"by": "ensv", "objective": "class_ami", "rows": rows, "best": best, "adapt": adapt, "verdict": verdict}
    (root / "runs" / "tune").mkdir(parents=True)
    (root / "runs" / "tune" / "trials.json").write_text(json.dumps(result))
    # advlab tune's own summary.json, as it writes it last
    opts = TuneOptions(["dann", "dan"], "mnist", "mnist_m", str(root / "runs" / "tune"))
    (root / "runs" / "tune" / "summary.json").write_text(json.dumps(summary(opts, result)))


def run(root: Path, name: str, target_acc: float) -> None:
    (root / "runs" / name).mkdir(parents=True)
    (root / "runs" / name / "summary.json").write_text(json.dumps({"target_acc": target_acc}))


def section(root: Path) -> tuple[Document, dict]:
    doc, results = Document("t", root), {}
    _tuning(doc, Study(root, PROFILES["smoke"]), results, root)
    return doc, results


def blocks(doc: Document, kind: str) -> list:
    return [value for k, value in doc.blocks if k == kind]


def test_the_table_marks_the_choice_and_the_degenerate_trial_and_the_answer_checks_the_verdict(tmp_path):
    tune_folder(tmp_path, "dann", adapt=True)
    run(tmp_path, "dann-s0", 0.80)
    run(tmp_path, "source_only-s0", 0.70)
    doc, results = section(tmp_path)
    header, rows = blocks(doc, "table")[0]
    assert header[3:5] == ["`class_ami`", "`ensv`"] and header[-1] == "target acc (analysis only)"
    assert [r[0] for r in rows] == ["0", "1 (chosen)", "2"]
    assert rows[2][5:7] == ["pruned", "features collapsed"]
    answer = blocks(doc, "answer")[0]
    assert answer.startswith("adapt: dann (trial 1)")
    assert "`dann` ended at 0.8000, above `source_only`'s 0.7000 (+10.0 points)" in answer and "agrees" in answer
    assert results["tune"]["best"]["method"] == "dann" and results["tune"]["trials"] == {"complete": 2, "pruned": 1}


def test_a_verdict_the_labels_contradict_is_called_so(tmp_path):
    tune_folder(tmp_path, "dann", adapt=True)
    run(tmp_path, "dann-s0", 0.60)
    run(tmp_path, "source_only-s0", 0.70)
    answer = blocks(section(tmp_path)[0], "answer")[0]
    assert "below `source_only`'s 0.7000 (-10.0 points)" in answer and "disagrees" in answer


def test_the_figure_is_the_tune_folders_own(tmp_path):
    tune_folder(tmp_path, "source_only", adapt=False)
    (tmp_path / "runs" / "tune" / "scores.png").write_bytes(b"\x89PNG not really")
    doc, _ = section(tmp_path)
    ((path, caption),) = blocks(doc, "figure")
    assert path == tmp_path / "tune-scores.png" and path.read_bytes() == b"\x89PNG not really"
    assert "star: the choice" in caption
    assert "For analysis only" not in blocks(doc, "answer")[0]  # source_only chosen: nothing to compare


def test_a_missing_or_failed_tune_run_is_said_and_nothing_else(tmp_path):
    doc, results = section(tmp_path)
    assert blocks(doc, "answer") == ["The tune run did not finish; no answer."] and "tune" not in results
    (tmp_path / "runs" / "tune").mkdir(parents=True)
    (tmp_path / "runs" / "tune" / "failed.txt").write_text("advlab: error: advlab tune needs optuna\n")
    assert blocks(section(tmp_path)[0], "answer") == [
        "The tune run did not finish: advlab: error: advlab tune needs optuna; no answer."
    ]
