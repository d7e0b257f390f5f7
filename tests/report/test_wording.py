"""Report wording generated from the numbers: no fixed claims, no '-0.0000', no '1 epochs'."""

import json
from pathlib import Path

from advlab.report.build import Study, _adaptation_table, count, signed
from advlab.report.document import Document
from advlab.report.study import PROFILES


def test_signed_never_prints_minus_zero_and_count_agrees():
    assert signed(-0.00001) == "+0.0000" and signed(0.01234) == "+0.0123" and signed(-0.5) == "-0.5000"
    assert count(1, "epoch") == "1 epoch" and count(3, "run") == "3 runs"


def test_pipeline_sentence_follows_source_only(tmp_path: Path):
    for method, acc in {"source_only": 0.10, "dann": 0.12, "target_only": 0.9}.items():
        run = tmp_path / "runs" / f"{method}-s0"
        run.mkdir(parents=True)
        (run / "summary.json").write_text(json.dumps({"source_acc": 0.1, "target_acc": acc}))
    doc = Document("t", tmp_path)
    _adaptation_table(doc, Study(tmp_path, PROFILES["smoke"]), {})
    text = " ".join(str(b) for kind, b in doc.blocks if kind == "paragraph")
    assert "source only reaches 0.1000, below the published 0.52–0.57" in text and "far above" not in text
