"""`advlab select` on run directories whose picks are known."""

import json
from pathlib import Path

import pytest

from advlab.cli import main
from advlab.report.selection import select
from tests_helpers import assert_one_line_error, run_cli


def fake_run(root: Path, name: str, rows: list[tuple[float, float, float]]) -> Path:
    """rows: (target_acc, val_snd, source_val_acc) per epoch."""
    run = root / name
    run.mkdir(parents=True)
    lines = [
        json.dumps({"epoch": i + 1, "target_acc": t, "val_snd": s, "source_val_acc": v})
        for i, (t, s, v) in enumerate(rows)
    ]
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    return run


def test_each_validator_picks_its_best_epoch_and_the_oracle_is_reported_apart(tmp_path):
    a = fake_run(tmp_path, "a", [(0.5, 1.0, 0.9), (0.8, 3.0, 0.8), (0.6, 2.0, 0.95)])
    result = select([a], ["snd", "source_val"])
    run = result["runs"][0]
    assert run["picks"]["snd"] == {"epoch": 2, "target_acc": 0.8}
    assert run["picks"]["source_val"] == {"epoch": 3, "target_acc": 0.6}
    assert run["last"] == {"epoch": 3, "target_acc": 0.6} and run["oracle_analysis_only"]["epoch"] == 2
    assert "across_runs" not in result


def test_across_runs_pools_every_checkpoint(tmp_path):
    a = fake_run(tmp_path, "a", [(0.5, 1.0, 0.9), (0.8, 3.0, 0.8)])
    b = fake_run(tmp_path, "b", [(0.6, 2.0, 0.99), (0.9, 4.0, 0.7)])
    pooled = select([a, b], ["snd", "source_val"])["across_runs"]
    assert pooled["checkpoints"] == 4 and pooled["validators"]["snd"]["pick"] == {
        "run": str(b),
        "epoch": 2,
        "target_acc": 0.9,
    }
    assert pooled["validators"]["snd"]["weighted_spearman"] == pytest.approx(1.0)
    assert pooled["validators"]["source_val"]["pick"]["target_acc"] == 0.6
    assert pooled["mean_last_target_acc"] == pytest.approx(0.85)


def test_cli_table_json_and_figure(tmp_path, capsys):
    a = fake_run(tmp_path, "a", [(0.5, 1.0, 0.9), (0.8, 3.0, 0.8)])
    b = fake_run(tmp_path, "b", [(0.6, 2.0, 0.99), (0.9, 4.0, 0.7)])
    assert main(["select", str(a), str(b), "--figure", str(tmp_path / "f.png")]) == 0
    out = capsys.readouterr().out
    assert "weighted Spearman" in out and "oracle" in out and (tmp_path / "f.png").stat().st_size > 1000
    assert main(["select", str(a), "--json", "--by", "snd"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"][0]["picks"]["snd"]["epoch"] == 2


def test_bad_input_is_one_line(tmp_path):
    assert_one_line_error(run_cli("select", str(tmp_path)), "is not an advlab adapt run directory")
    a = fake_run(tmp_path, "a", [(0.5, 1.0, 0.9)])
    assert_one_line_error(run_cli("select", str(a), "--by", "oracle"), "unknown validator 'oracle'")
