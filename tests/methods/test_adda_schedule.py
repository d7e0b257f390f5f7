"""ADDA's two stages through the CLI: how many source epochs, fixed when the run starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from advlab.cli import main
from advlab.runs.checkpoint import load_checkpoint

TINY = ["--batch-size", "32", "--val-size", "50", "--train-subset", "200", "--threads", "1", "--quiet"]


def adapt(tiny_domains, out: Path, *extra: str) -> int:
    source, target = tiny_domains
    return main(["adapt", "--source", str(source), "--target", str(target), "--out", str(out), *TINY, *extra])


def source_encoder(checkpoint: Path) -> dict[str, torch.Tensor]:
    heads = load_checkpoint(checkpoint)["heads"]
    return {k: v for k, v in heads.items() if k.startswith("source_encoder.")}


def test_resume_with_more_epochs_keeps_the_source_phase_and_its_frozen_encoder(tiny_domains, tmp_path):
    out = tmp_path / "adda"
    assert adapt(tiny_domains, out, "--method", "adda", "--epochs", "2") == 0  # 1 source epoch, 1 adapting
    frozen = source_encoder(out / "last.pt")
    assert adapt(tiny_domains, out, "--method", "adda", "--epochs", "4", "--resume") == 0
    after = source_encoder(out / "last.pt")
    assert frozen.keys() == after.keys() and all(torch.equal(frozen[k], after[k]) for k in frozen)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert ["loss_cls" in r for r in records] == [True, False, False, False]


def test_adda_at_one_epoch_without_init_is_refused_saying_what_to_pass(tiny_domains, tmp_path, capsys):
    assert adapt(tiny_domains, tmp_path / "r", "--method", "adda", "--epochs", "1") == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("advlab: error: ")
    assert "--epochs 2 or more" in lines[0] and "--init RUN_DIR" in lines[0]
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "option, name", [("--adda-lr", "adda lr"), ("--mcc-temperature", "mcc temperature"), ("--mdd-margin", "mdd margin")]
)
@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_invalid_non_finite_method_values_say_they_must_be_finite(tiny_domains, tmp_path, capsys, option, name, value):
    method = name.split()[0]
    assert adapt(tiny_domains, tmp_path / "r", "--method", method, "--epochs", "2", f"{option}={value}") == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"advlab: error: {name} must be > 0 and finite, got {float(value)}"]


@pytest.mark.parametrize("value", ["inf", "nan"])
def test_invalid_non_finite_mdd_reversal_says_it_must_be_finite(tiny_domains, tmp_path, capsys, value):
    assert adapt(tiny_domains, tmp_path / "r", "--method", "mdd", "--epochs", "2", "--mdd-reversal", value) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"advlab: error: mdd reversal must be >= 0 and finite, got {float(value)}"]
