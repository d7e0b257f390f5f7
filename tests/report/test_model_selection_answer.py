"""Section 6's table and answer come from the runs' validator scores."""

from __future__ import annotations

import json
from pathlib import Path

from advlab.report.build import Study, _model_selection
from advlab.report.document import Document
from advlab.report.study import PROFILES


def fake_run(root: Path, name: str, rows: list[tuple[float, float]]) -> None:
    """rows: (target_acc, val_snd) per epoch; source validation accuracy falls as target rises."""
    run = root / "runs" / name
    run.mkdir(parents=True)
    (run / "summary.json").write_text("{}")
    lines = [
        json.dumps({"epoch": i + 1, "target_acc": t, "val_snd": s, "source_val_acc": 1 - t})
        for i, (t, s) in enumerate(rows)
    ]
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")


def answer(tmp_path: Path, snd_follows_accuracy: bool) -> tuple[str, dict]:
    for name, rows in {
        "dann-s0": [(0.6, 1), (0.9, 3), (0.7, 2)],
        "source_only-s0": [(0.5, 1), (0.8, 3), (0.6, 2)],
    }.items():
        fake_run(tmp_path, name, rows if snd_follows_accuracy else [(t, -s) for t, s in rows])
    doc, results = Document("t", tmp_path), {}
    _model_selection(doc, Study(tmp_path, PROFILES["smoke"]), results, tmp_path)
    return next(text for kind, text in doc.blocks if kind == "answer"), results


def test_a_validator_that_follows_accuracy_beats_the_last_epoch(tmp_path):
    text, results = answer(tmp_path, snd_follows_accuracy=True)
    assert "by `snd` gives 0.8500 on average, above the last epoch's 0.6500 (+20.0 points)" in text
    assert abs(results["model_selection"]["mean_oracle"] - 0.85) < 1e-9


def test_when_none_helps_the_answer_says_so(tmp_path):
    text, _ = answer(tmp_path, snd_follows_accuracy=False)
    assert "validators above the last epoch: none" in text
