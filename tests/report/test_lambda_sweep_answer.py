"""Q3's answer is generated from the sweep's numbers and names settings as a reader would."""

from __future__ import annotations

import json
from pathlib import Path

from advlab.report.build import Study, _lambda_sweep
from advlab.report.document import Document
from advlab.report.study import PROFILES, SWEEP_CONSTANT_LAMBDAS


def fake_run(root: Path, name: str, target: float) -> None:
    run = root / "runs" / name
    run.mkdir(parents=True)
    record = {"epoch": 1, "target_acc": target, "domain_acc": 0.6, "source_acc": 0.98}
    (run / "summary.json").write_text(json.dumps(record))
    (run / "metrics.jsonl").write_text(json.dumps(record) + "\n")


def test_answer_names_the_best_and_the_unstable_setting_by_value(tmp_path):
    for lam in SWEEP_CONSTANT_LAMBDAS[:-1]:
        fake_run(tmp_path, f"sweep-lambda{lam:g}", 0.9 if lam == 0.3 else 0.7)
    diverged = tmp_path / "runs" / f"sweep-lambda{SWEEP_CONSTANT_LAMBDAS[-1]:g}"
    diverged.mkdir(parents=True)
    (diverged / "failed.txt").write_text("loss became nan\n")
    doc, results = Document("t", tmp_path), {}
    _lambda_sweep(doc, Study(tmp_path, PROFILES["full"]), results, tmp_path)
    answer = next(text for kind, text in doc.blocks if kind == "answer")
    assert "λ = 0.3 gives the highest target accuracy (0.9000)" in answer
    assert f"unstable at constant λ = {SWEEP_CONSTANT_LAMBDAS[-1]:g}." in answer and "lambda" not in answer
    assert [p["unstable"] for p in results["q3_lambda_sweep"]] == [False] * 5 + [True]
