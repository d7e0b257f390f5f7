"""The validators as a run applies them: a fixed probe, every score, no target label."""

import json
import math

import torch

from advlab.backbones.ganin import GaninNet
from advlab.cli import main
from advlab.train.validation import VALIDATORS, make_probe, score_validators


def test_probe_is_fixed_by_the_seed_and_holds_no_target_labels():
    target, source = (
        torch.arange(50).view(50, 1, 1, 1).to(torch.uint8),
        torch.arange(60).view(60, 1, 1, 1).to(torch.uint8),
    )
    a = make_probe(target, source, source[:5], torch.zeros(5, dtype=torch.long), size=20, seed=3)
    b = make_probe(target, source, source[:5], torch.zeros(5, dtype=torch.long), size=20, seed=3)
    assert torch.equal(a.target, b.target) and len(a.target) == 20 and len(a.source_train) == 20
    assert not hasattr(a, "target_labels")


def test_every_validator_is_scored():
    g = torch.Generator().manual_seed(0)
    images = lambda n, c: torch.randint(0, 256, (n, c, 28, 28), dtype=torch.uint8, generator=g)
    probe = make_probe(
        images(80, 3), images(80, 1), images(30, 1), torch.randint(0, 10, (30,), generator=g), size=60, seed=0
    )
    scores = score_validators(GaninNet(10, "per_image").eval(), probe, torch.device("cpu"), seed=0)
    assert {key for name, key in VALIDATORS.items() if name != "source_val"} <= set(scores)
    assert all(isinstance(v, float) for v in scores.values()) and scores["validation_seconds"] >= 0


def test_select_by_a_validator_reports_the_epoch_it_scores_best(tiny_domains, tmp_path):
    source, target = tiny_domains
    out = tmp_path / "r"
    assert (
        main(
            [
                "adapt",
                "--source",
                str(source),
                "--target",
                str(target),
                "--out",
                str(out),
                "--epochs",
                "3",
                "--batch-size",
                "32",
                "--val-size",
                "50",
                "--threads",
                "1",
                "--quiet",
                "--select",
                "snd",
                "--validation-size",
                "200",
            ]
        )
        == 0
    )
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    eligible = [h for h in history if not h["degenerate"]]  # a collapsed epoch is never selected
    best = max(eligible, key=lambda h: h["val_snd"]) if eligible else history[-1]
    summary = json.loads((out / "summary.json").read_text())
    assert (
        summary["selected_by"] == "snd"
        and summary["selected_epoch"] == best["epoch"]
        and summary["target_acc"] == best["target_acc"]
    )
    assert (out / "best.pt").exists() and torch.load(out / "best.pt", weights_only=True)["epoch"] == best["epoch"]


def test_a_one_image_probe_scores_no_nan():
    g = torch.Generator().manual_seed(0)
    images = lambda n, c: torch.randint(0, 256, (n, c, 28, 28), dtype=torch.uint8, generator=g)
    probe = make_probe(images(5, 3), images(5, 1), images(4, 1), torch.tensor([0, 1, 2, 3]), size=1, seed=0)
    scores = score_validators(GaninNet(10, "per_image").eval(), probe, torch.device("cpu"), seed=0)
    assert "val_snd" not in scores and "val_class_ami" not in scores and "val_entropy" in scores
    assert all(math.isfinite(v) for v in scores.values())


def test_a_probe_too_small_for_a_validator_records_no_nan(tiny_domains, tmp_path):
    """--validation-size 1 wrote "val_snd": NaN (one image has no neighbour) into metrics.jsonl."""
    source, target = tiny_domains
    out = tmp_path / "one"
    args = ["--source", str(source), "--target", str(target), "--out", str(out), "--threads", "1", "--quiet"]
    args += ["--epochs", "1", "--batch-size", "16", "--val-size", "50", "--train-subset", "100"]
    assert main(["adapt", *args, "--validation-size", "1"]) == 0
    text = (out / "metrics.jsonl").read_text()
    record = json.loads(text)
    assert "NaN" not in text and "val_snd" not in record and "val_class_ami" not in record
    assert "val_entropy" in record and "val_dev" in record  # what one image can give is still scored


def test_select_snd_on_a_one_image_probe_is_refused_in_one_line(tiny_domains, tmp_path, capsys):
    """SND needs two images: with one it was NaN, then (once None) a KeyError after the first epoch."""
    source, target = tiny_domains
    args = ["adapt", "--source", str(source), "--target", str(target), "--out", str(tmp_path / "r"), "--quiet"]
    args += ["--epochs", "1", "--batch-size", "16", "--val-size", "50", "--train-subset", "100", "--threads", "1"]
    assert main([*args, "--select", "snd", "--validation-size", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "select snd needs validation size > 1" in err[0]
    assert not (tmp_path / "r").exists()
