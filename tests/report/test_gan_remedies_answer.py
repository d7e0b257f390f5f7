"""Section 5b's table and answer come from the GAN runs' numbers: if a result flips, so does it."""

from __future__ import annotations

import json
from pathlib import Path

from advlab.report.build import Study, _gan_remedies
from advlab.report.document import Document
from advlab.report.study import PROFILES


def fake_gan(root: Path, variant: str, coverage: float, fid: float, seconds: float) -> None:
    run = root / "runs" / f"gan-{variant}-s0"
    run.mkdir(parents=True)
    (run / "summary.json").write_text(
        json.dumps(
            {
                "variant": variant,
                "coverage": coverage,
                "fid_lenet": fid,
                "kl_uniform": 0.1,
                "seconds_per_epoch": seconds,
            }
        )
    )


def answer_for(tmp_path: Path, coverages: dict[str, float]) -> tuple[str, dict]:
    fids = {"conditional": 8.0, "projection": 12.0}
    for variant in ("unconditional", "pacgan2", "sngan", "conditional", "projection"):
        fake_gan(
            tmp_path,
            variant,
            coverages.get(variant, 10.0),
            fids.get(variant, 100.0),
            20.0 if variant == "pacgan2" else 10.0,
        )
    doc, results = Document("t", tmp_path), {}
    _gan_remedies(doc, Study(tmp_path, PROFILES["smoke"]), results, tmp_path)
    return next(text for kind, text in doc.blocks if kind == "answer"), results


def test_answer_follows_the_numbers(tmp_path):
    answer, results = answer_for(tmp_path, {"unconditional": 8.0, "pacgan2": 10.0, "sngan": 7.0})
    assert "`pacgan2` covers 10.0 classes (more than DCGAN's 8.0)" in answer
    assert "`sngan` covers 7.0 classes (fewer than DCGAN's 8.0)" in answer
    assert "`projection` reaches a Fréchet distance of 12.0 against the cDCGAN's 8.0" in answer
    assert results["gan_remedies"]["pacgan2"]["seconds_per_epoch"]["mean"] == 20.0


def test_a_tie_is_said_to_be_level(tmp_path):
    answer, _ = answer_for(tmp_path, {"unconditional": 9.0, "pacgan2": 9.0})
    assert "`pacgan2` covers 9.0 classes (level with DCGAN's 9.0)" in answer
