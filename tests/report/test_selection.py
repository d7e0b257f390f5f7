"""`advlab select` on run directories whose picks are known."""

import json
from pathlib import Path

import pytest

from advlab.cli import main
from advlab.report.selection import select
from tests_helpers import assert_one_line_error, run_here


def fake_run(
    root: Path, name: str, rows: list[tuple[float, float, float]], epochs: int | None = None, finished: bool = True
) -> Path:
    """rows: (target_acc, val_snd, source_val_acc) per epoch; `epochs`: configured (default: len(rows))."""
    run = root / name
    run.mkdir(parents=True)
    lines = [
        json.dumps({"epoch": i + 1, "target_acc": t, "val_snd": s, "source_val_acc": v})
        for i, (t, s, v) in enumerate(rows)
    ]
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    (run / "config.yaml").write_text(f"method: dann\nepochs: {epochs or len(rows)}\n")
    if finished:
        (run / "summary.json").write_text(json.dumps({"epochs": len(rows)}))
    return run


def strict_json(text: str):
    """JSON as JSON.parse reads it: NaN and Infinity are not JSON."""

    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


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
    assert_one_line_error(run_here("select", str(tmp_path)), "is not an advlab adapt run directory")
    a = fake_run(tmp_path, "a", [(0.5, 1.0, 0.9)])
    assert_one_line_error(run_here("select", str(a), "--by", "oracle"), "unknown validator 'oracle'")


@pytest.mark.parametrize(
    "epochs, finished, said",
    [(30, True, "(3 of 30 epochs recorded)"), (None, False, "(no summary.json: still training, or stopped)")],
    ids=["extended_partial", "stopped_partial"],
)
def test_an_unfinished_run_alone_is_refused_and_beside_finished_ones_left_out(tmp_path, capsys, epochs, finished, said):
    """A run at epoch 3 of 30 was reported as 'last 3', without a word."""
    rows = [(0.5, 1.0, 0.9), (0.8, 3.0, 0.8), (0.6, 2.0, 0.95)]
    partial = fake_run(tmp_path, "partial", rows, epochs=epochs, finished=finished)
    assert main(["select", str(partial)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("advlab: error:") and said in err[0] and "--resume" in err[0]

    done = fake_run(tmp_path, "done", rows)
    assert main(["select", str(done), str(partial), "--json"]) == 0
    captured = capsys.readouterr()
    result = strict_json(captured.out)
    assert [r["run"] for r in result["runs"]] == [str(done)] and said in result["unfinished"][0]
    assert captured.err.startswith(f"advlab: warning: {partial} is not finished") and "left out" in captured.err


def test_json_has_no_nan_and_no_nan_score_is_picked(tmp_path, capsys):
    """--json printed NaN (constant scores' correlation, old records' NaN SND), which JSON.parse
    refuses; a NaN SND in epoch 1 made it the pick."""
    nan = float("nan")
    a = fake_run(tmp_path, "a", [(0.5, nan, 0.9), (0.8, 1.0, 0.9), (0.6, 2.0, 0.9)])
    b = fake_run(tmp_path, "b", [(0.6, nan, 0.9), (0.9, nan, 0.9)])
    assert main(["select", str(a), str(b), "--json"]) == 0
    result = strict_json(capsys.readouterr().out)
    first, second = result["runs"]
    assert first["picks"]["snd"] == {"epoch": 3, "target_acc": 0.6} and first["unscored"] == {"snd": 1}
    assert second["picks"]["snd"] is None and second["unscored"] == {"snd": 2}
    assert result["across_runs"]["validators"]["source_val"]["weighted_spearman"] is None  # constant: no correlation
    assert main(["select", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "(1 epochs with a NaN score left out)" in out and "(NaN in all 2 epochs: nothing to pick)" in out


@pytest.mark.parametrize("cut_last", [True, False], ids=["torn_last_line", "corrupt_middle_line"])
def test_a_cut_or_corrupt_metrics_line_is_one_line_naming_file_and_line(tmp_path, capsys, cut_last):
    run = fake_run(tmp_path, "a", [(0.5, 1.0, 0.9), (0.8, 3.0, 0.8), (0.6, 2.0, 0.95)])
    path = run / "metrics.jsonl"
    lines = path.read_text().splitlines()
    if cut_last:
        path.write_text("\n".join(lines[:2] + [lines[2][:20]]))  # a run writing line 3 right now
    else:
        path.write_text("\n".join([lines[0], lines[1][:20], lines[2]]) + "\n")
    assert main(["select", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{path} line {3 if cut_last else 2}" in err[0]
    assert ("as a run writing it now" in err[0]) == cut_last


@pytest.mark.parametrize(
    "name, said",
    [
        ("/proc/x.png", "cannot write figure /proc/x.png: no such file or directory"),
        ("missing/x.png", "does not exist"),
        ("x.txt", "name it .png"),
        ("plots", "name it .png"),
    ],
    ids=["proc", "missing_folder", "bad_suffix", "no_suffix"],
)
def test_a_bad_figure_path_is_one_line_error(tmp_path, capsys, monkeypatch, name, said):
    monkeypatch.chdir(tmp_path)
    a = fake_run(tmp_path, "a", [(0.5, 1.0, 0.9), (0.8, 3.0, 0.8)])
    assert main(["select", str(a), "--figure", name]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and said in err[0] and captured.out == ""


def test_a_degenerate_checkpoint_is_never_picked_and_its_skip_is_said(tmp_path, capsys):
    """The collapsed DAN of issue 22 scored class_ami 1.0 and was picked; a checkpoint the run
    flagged as degenerate is skipped however high it scores, and the table says so."""
    a = fake_run(tmp_path, "a", [(0.5, 1.0, 0.9), (0.8, 2.0, 0.8)])
    collapsed = fake_run(tmp_path, "dan", [(0.6, 2.5, 0.9), (0.08, 9.0, 0.1)])
    path = collapsed / "metrics.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[1]["degenerate"] = "source validation accuracy 0.100 is not clearly above chance (0.100)"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    result = select([a, collapsed], ["snd"])
    assert result["runs"][1]["picks"]["snd"] == {"epoch": 1, "target_acc": 0.6}
    assert result["runs"][1]["skipped_degenerate"] == {"2": rows[1]["degenerate"]}
    pooled = result["across_runs"]
    assert pooled["validators"]["snd"]["pick"]["target_acc"] == 0.6 and pooled["skipped_degenerate"] == 1
    assert main(["select", str(a), str(collapsed), "--by", "snd"]) == 0
    out = capsys.readouterr().out
    assert "skipped epoch 2, degenerate: source validation accuracy 0.100" in out
    assert "1 degenerate ones skipped" in out
