"""A run knows its own identity: a checkpoint carries its options and data fingerprints, and
--resume / --init compare them (issue 21). Also: options of other methods, resume from the
run's own config.yaml, and the seed's range."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from advlab.cli import main
from advlab.runs.checkpoint import load_checkpoint
from conftest import write_domain_npz

QUICK = ["--threads", "1", "--batch-size", "16", "--val-size", "50", "--train-subset", "200", "--test-subset", "100"]
QUICK += ["--validation-size", "100", "--quiet"]


def adapt(source, target, out, *extra: str) -> int:
    return main(["adapt", "--source", str(source), "--target", str(target), "--out", str(out), *QUICK, *extra])


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def without_timing(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if "seconds" not in k and "per_second" not in k} for r in records]


def record_of(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != ".lock"}


def one_error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("advlab: error: "), lines
    return lines[0]


@pytest.fixture
def domains(tiny_domains, tmp_path, monkeypatch):
    """A4.npz and B4.npz in a folder `x` (the working directory), and a folder `y` whose
    B4.npz holds other images under the same name."""
    x, y = tmp_path / "x", tmp_path / "y"
    x.mkdir()
    y.mkdir()
    shutil.copy(tiny_domains[0], x / "A4.npz")
    shutil.copy(tiny_domains[1], x / "B4.npz")
    shutil.copy(tiny_domains[0], y / "A4.npz")
    write_domain_npz(y / "B4.npz", 600, 200, colour=True, seed=77)
    monkeypatch.chdir(x)
    return x, y


def test_resume_refuses_a_checkpoint_of_another_run_of_the_same_method(domains, tmp_path, capsys):
    """last.pt replaced by another dann run's (other data): resume continued it and rewrote epoch 1."""
    x, y = domains
    run, other = tmp_path / "run", tmp_path / "other"
    assert adapt("A4.npz", "B4.npz", run, "--epochs", "1") == 0
    assert adapt(y / "A4.npz", y / "B4.npz", other, "--epochs", "1") == 0
    shutil.copy(other / "last.pt", run / "last.pt")
    before = record_of(run)
    capsys.readouterr()
    assert adapt("A4.npz", "B4.npz", run, "--epochs", "2", "--resume") == 2
    line = one_error_line(capsys)
    assert f"last.pt in {run} was made by another run" in line and "--target 'B4.npz'" in line
    assert record_of(run) == before


def test_resume_without_config_yaml_refuses_options_the_checkpoint_was_not_made_with(domains, tmp_path, capsys):
    """config.yaml deleted, `--resume --lr 0.05` was taken and recorded though epoch 1 ran at 0.01."""
    run = tmp_path / "run"
    assert adapt("A4.npz", "B4.npz", run, "--epochs", "1") == 0
    (run / "config.yaml").unlink()
    before = record_of(run)
    capsys.readouterr()
    assert adapt("A4.npz", "B4.npz", run, "--epochs", "2", "--resume", "--lr", "0.05") == 2
    assert "was made by another run: --lr 0.01 -> 0.05" in one_error_line(capsys)
    assert record_of(run) == before


def test_resume_refuses_data_of_the_same_name_with_other_images(domains, tmp_path, capsys, monkeypatch):
    """Resumed from folder y, whose B4.npz holds other images: epochs 2-3 trained on other data."""
    x, y = domains
    run = tmp_path / "run"
    assert adapt("A4.npz", "B4.npz", run, "--epochs", "1") == 0
    before = record_of(run)
    monkeypatch.chdir(y)
    capsys.readouterr()
    assert adapt("A4.npz", "B4.npz", run, "--epochs", "3", "--resume") == 2
    line = one_error_line(capsys)
    assert "was made by another run" in line and "--target 'B4.npz' holds other images" in line
    assert "--source" not in line  # A4.npz is the same file in both folders
    assert record_of(run) == before


def test_resume_takes_the_same_data_under_another_path_string(domains, tmp_path):
    """`A4.npz` and `./A4.npz` (the same file) were refused as a change of --source."""
    run, same = tmp_path / "run", tmp_path / "same"
    for out in (run, same):
        assert adapt("A4.npz", "B4.npz", out, "--epochs", "1") == 0
    assert adapt("A4.npz", "B4.npz", same, "--epochs", "2", "--resume") == 0
    assert adapt("./A4.npz", str(Path("B4.npz").resolve()), run, "--epochs", "2", "--resume") == 0
    assert without_timing(metrics(run)) == without_timing(metrics(same))


def test_init_refuses_a_run_of_other_data_under_the_same_names(domains, tmp_path, capsys, monkeypatch):
    """--init accepted a run trained on another B4.npz (same name), yet refused `./A4.npz` for `A4.npz`."""
    x, y = domains
    base = tmp_path / "base"
    assert adapt("A4.npz", "B4.npz", base, "--epochs", "1", "--method", "source_only") == 0
    pl = ["--method", "pseudo_label", "--init", str(base), "--rounds", "1", "--pl-threshold", "0", "--epochs", "1"]
    assert adapt("./A4.npz", "./B4.npz", tmp_path / "same", *pl) == 0
    monkeypatch.chdir(y)
    capsys.readouterr()
    assert adapt("A4.npz", "B4.npz", tmp_path / "other", *pl) == 2
    line = one_error_line(capsys)
    assert f"--init {base} was trained on other target images" in line and "B4.npz" in line


def test_an_option_of_another_method_is_refused(domains, tmp_path, capsys):
    """`--method dann --mcd-num-k 7 --rounds 5 --adda-lr 0.1` was taken and written to config.yaml."""
    out = tmp_path / "r"
    stray = ["--mcd-num-k", "7", "--rounds", "5", "--adda-lr", "0.1"]
    assert adapt("A4.npz", "B4.npz", out, "--method", "dann", *stray) == 2
    line = one_error_line(capsys)
    assert "--mcd-num-k (mcd)" in line and "--rounds (pseudo_label)" in line and "--adda-lr (adda)" in line
    assert "method dann" in line and not out.exists()
    assert adapt("A4.npz", "B4.npz", out, "--method", "dann", "--mcd-num-k", "4") == 2  # even at its default
    assert "--mcd-num-k (mcd)" in one_error_line(capsys)
    options = tmp_path / "o.yaml"
    options.write_text("method: cdan\nmdd_margin: 2.0\n")
    assert adapt("A4.npz", "B4.npz", out, "--config", str(options)) == 2
    assert "--mdd-margin (mdd)" in one_error_line(capsys) and not out.exists()


def test_config_yaml_records_only_options_that_apply_and_an_old_one_still_resumes(domains, tmp_path, capsys):
    out = tmp_path / "r"
    assert adapt("A4.npz", "B4.npz", out, "--method", "mcd", "--mcd-num-k", "2", "--epochs", "1") == 0
    written = yaml.safe_load((out / "config.yaml").read_text())
    assert written["mcd_num_k"] == 2 and not {"rounds", "adda_lr", "mdd_margin", "coral_layer"} & set(written)
    capsys.readouterr()
    assert adapt("A4.npz", "B4.npz", out, "--epochs", "2", "--resume", "--rounds", "2") == 2
    assert "--rounds (pseudo_label)" in one_error_line(capsys)  # not "a change of the run"
    # a run from before: every method's options in config.yaml, at their defaults
    from advlab.train.config import AdaptConfig

    old = {**AdaptConfig().__dict__, **written}
    (out / "config.yaml").write_text(yaml.safe_dump(old, sort_keys=False))
    assert adapt("A4.npz", "B4.npz", out, "--epochs", "2", "--resume") == 0
    assert [r["epoch"] for r in metrics(out)] == [1, 2]


def test_resume_with_only_out_takes_the_runs_own_options(domains, tmp_path, capsys):
    """README's `advlab adapt --out RUN --resume` failed for any run made with non-default options."""
    retyped, run = tmp_path / "retyped", tmp_path / "run"
    made = ["--lr", "0.02", "--method", "mcd", "--mcd-num-k", "2", "--epochs", "1"]
    for out in (retyped, run):
        assert adapt("A4.npz", "B4.npz", out, *made) == 0
    assert adapt("A4.npz", "B4.npz", retyped, *made, "--epochs", "2", "--resume") == 0
    capsys.readouterr()
    assert main(["adapt", "--out", str(run), "--resume", "--epochs", "2", "--quiet"]) == 0
    assert without_timing(metrics(run)) == without_timing(metrics(retyped))
    # only what the user changed is named
    assert main(["adapt", "--out", str(run), "--resume", "--lr", "0.5", "--quiet"]) == 2
    line = one_error_line(capsys)
    assert "--lr 0.02 -> 0.5" in line and "--source" not in line and "--batch-size" not in line
    assert main(["adapt", "--out", str(run), "--resume", "--epochs", "3", "--threads", "1", "--quiet"]) == 0
    assert [r["epoch"] for r in metrics(run)] == [1, 2, 3]


@pytest.mark.parametrize("seed", ["-1", "4294967296", "99999999999999999999"])
def test_a_seed_out_of_range_is_refused_before_anything_is_written(domains, tmp_path, capsys, seed):
    """The seed failed in scikit-learn after an epoch (or in torch), leaving a config.yaml behind."""
    out = tmp_path / "r"
    assert adapt("A4.npz", "B4.npz", out, "--epochs", "1", f"--seed={seed}") == 2
    assert f"seed must be in [0, 2**32), got {seed}" in one_error_line(capsys) and not out.exists()
    assert main(["gan", "--dataset", "A4.npz", "--out", str(out), f"--seed={seed}", "--quiet"]) == 2
    assert f"seed must be in [0, 2**32), got {seed}" in one_error_line(capsys) and not out.exists()


def test_the_checkpoint_carries_the_identity_and_no_head_args(domains, tmp_path):
    out = tmp_path / "r"
    assert adapt("A4.npz", "B4.npz", out, "--epochs", "1") == 0
    state = load_checkpoint(out / "last.pt")
    assert "head_args" not in state
    identity = state["identity"]
    assert identity["options"]["lr"] == 0.01 and identity["options"]["method"] == "dann"
    assert not {"threads", "device", "data_dir", "out", "epochs", "source", "target"} & set(identity["options"])
    assert set(identity["data"]) == {"source", "target"} and identity["data"]["source"] != identity["data"]["target"]
