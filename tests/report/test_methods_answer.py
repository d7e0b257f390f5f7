"""Section 1b's answer is generated from the methods' numbers: if a result flips, so does it."""

from __future__ import annotations

import json
from pathlib import Path

from advlab.report.build import Study, _methods
from advlab.report.document import Document
from advlab.report.study import COMPARED_METHODS, PROFILES


def fake_run(root: Path, name: str, target: float, seconds: float = 10.0) -> None:
    run = root / "runs" / name
    run.mkdir(parents=True)
    record = {"epoch": 1, "target_acc": target, "source_acc": 0.98, "train_seconds": seconds}
    (run / "summary.json").write_text(json.dumps(record))
    (run / "metrics.jsonl").write_text(json.dumps(record) + "\n")


def answer_for(tmp_path: Path, targets: dict[str, float]) -> tuple[str, dict]:
    for method, target in targets.items():
        fake_run(tmp_path, f"{method}-s0", target, seconds=20.0 if method == "mcd" else 10.0)
    doc, results = Document("t", tmp_path), {}
    _methods(doc, Study(tmp_path, PROFILES["smoke"]), results, tmp_path)
    return next(text for kind, text in doc.blocks if kind == "answer"), results


def test_answer_sorts_methods_against_source_only_and_dann(tmp_path):
    targets = {"source_only": 0.70, "dann": 0.80, "target_only": 0.97} | {m: 0.75 for m in COMPARED_METHODS}
    targets |= {"mcc": 0.85, "coral": 0.70, "dan": 0.60}
    answer, results = answer_for(tmp_path, targets)
    assert f"Above source only (0.7000): {len(COMPARED_METHODS) - 2} of {len(COMPARED_METHODS)} methods" in answer
    assert "above DANN (0.8000): `mcc`." in answer and "The best is `mcc` at 0.8500" in answer
    assert "level with source only: `coral`" in answer and "below source only: `dan`" in answer
    assert results["methods"]["mcd"]["epoch_seconds"]["mean"] == 20.0


def test_missing_runs_are_said_so(tmp_path):
    answer, _ = answer_for(tmp_path, {"source_only": 0.7})
    assert "missing runs" in answer
