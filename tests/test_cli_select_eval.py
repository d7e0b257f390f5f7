"""`gan eval`, `gan compare`, `classifier` and `python -m advlab` on tiny runs: unfinished runs,
too few samples, unwritable outputs and the advice a broken evaluator gives."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from advlab.cli import main
from advlab.data.domains import load_domain
from advlab.errors import AdvlabError
from advlab.gan import evaluator as ev
from advlab.gan.evaluate import MIN_EVAL_SAMPLES


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One evaluator cache for the module: the tiny data set's evaluator is trained once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def finished_gan(tiny_domains, tmp_path_factory) -> Path:
    """A finished one-epoch GAN run without metrics (--eval-samples 0)."""
    out = tmp_path_factory.mktemp("gan") / "run"
    args = ["gan", "--dataset", str(tiny_domains[0]), "--out", str(out), "--epochs", "1", "--batch-size", "100"]
    args += ["--g-width", "8", "--d-width", "4", "--eval-samples", "0", "--threads", "1", "--quiet"]
    assert main(args) == 0
    return out


@pytest.fixture
def gan_run(finished_gan, tmp_path, cache, monkeypatch) -> Path:
    """A copy of the finished run, to change at will."""
    monkeypatch.setenv("ADVLAB_CACHE", str(cache))
    return Path(shutil.copytree(finished_gan, tmp_path / "run"))


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("advlab: error:"), err
    return err[0]


@pytest.mark.parametrize("samples", ["0", "-5", "1", str(MIN_EVAL_SAMPLES - 1)])
def test_gan_eval_refuses_too_few_samples_in_one_line(gan_run, capsys, samples):
    """0, -5 and 1 ended in a ValueError, a RuntimeError and a LinAlgError."""
    before = (gan_run / "summary.json").read_text()
    assert main(["gan", "eval", str(gan_run), "--samples", samples]) == 2
    assert f"--samples must be at least {MIN_EVAL_SAMPLES}, got {samples}" in one_error_line(capsys)
    assert (gan_run / "summary.json").read_text() == before


def extended(run: Path) -> None:
    """As `--resume --epochs 30` leaves a finished run it was stopped in: config.yaml says 30."""
    config = yaml.safe_load((run / "config.yaml").read_text())
    (run / "config.yaml").write_text(yaml.safe_dump(config | {"epochs": 30}))


def killed(run: Path) -> None:
    """As a run killed before its end leaves it: no summary.json."""
    (run / "summary.json").unlink()


@pytest.mark.parametrize(
    "stop, said",
    [(extended, "(1 of 30 epochs done)"), (killed, "(no summary.json: stopped before its end)")],
    ids=["interrupted_extension", "killed"],
)
def test_gan_eval_refuses_an_unfinished_run(gan_run, capsys, stop, said):
    """It exited 0 and wrote metrics into the summary.json that the resume later replaces."""
    stop(gan_run)
    before = sorted(p.name for p in gan_run.iterdir())
    assert main(["gan", "eval", str(gan_run), "--samples", "200"]) == 2
    line = one_error_line(capsys)
    assert "is not finished" in line and said in line and "--resume" in line
    assert sorted(p.name for p in gan_run.iterdir()) == before


def test_gan_eval_refuses_a_run_that_is_training_now_not_after_it(gan_run, capsys):
    with open(gan_run / ".lock", "a") as trainer:  # as open_run holds it while a run trains
        fcntl.flock(trainer, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["gan", "eval", str(gan_run), "--samples", "200"]) == 2
    assert "is training right now" in one_error_line(capsys)
    assert "cond_acc" not in json.loads((gan_run / "summary.json").read_text())


def test_gan_eval_adds_metrics_drops_no_metrics_and_keeps_the_rest_not_a_rewrite(gan_run, capsys):
    """`"no_metrics": "--eval-samples 0"` stayed beside the metrics; the file was rewritten in place."""
    path = gan_run / "summary.json"
    before, inode = json.loads(path.read_text()), path.stat().st_ino
    assert before["no_metrics"] == "--eval-samples 0"
    assert main(["gan", "eval", str(gan_run), "--samples", "200"]) == 0
    after = json.loads(path.read_text())
    assert "no_metrics" not in after and after["eval_samples"] == 200 and after["fid_lenet"] > 0
    assert {k: after[k] for k in before if k != "no_metrics"} == {k: v for k, v in before.items() if k != "no_metrics"}
    assert path.stat().st_ino != inode  # replaced whole (atomic_write), never half written
    assert not [p for p in gan_run.iterdir() if p.name.endswith(".tmp")]


def test_gan_compare_to_an_unwritable_place_is_one_line_error(gan_run, capsys):
    assert main(["gan", "compare", str(gan_run), str(gan_run), "--out", "/proc/cmpx"]) == 2
    assert "/proc/cmpx-losses.png" in one_error_line(capsys)


def test_a_corrupt_evaluator_of_another_data_set_advises_retraining_that_one(tiny_domains, tmp_path, monkeypatch):
    """The advice was 'advlab classifier --force', which retrains MNIST's evaluator."""
    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path))
    data = str(tiny_domains[1])
    fingerprint = ev.data_fingerprint(load_domain(data, None, quiet=True).train)
    path = ev.evaluator_path(0, data, fingerprint)
    path.parent.mkdir(parents=True)
    torch.save({"model": {}}, path)
    path.with_suffix(".json").write_text(json.dumps({"path": str(path), "sha256": "0" * 64, "test_acc": 0.9}))
    with pytest.raises(AdvlabError, match="does not match its recorded sha256") as refused:
        ev.load_evaluator(dataset=data)
    assert f"run 'advlab classifier --dataset {data} --force'" in str(refused.value)


def test_classifier_of_stacked_mnist_is_not_a_useless_1000_class_one(monkeypatch, capsys):
    """Stacked-MNIST's metrics read each channel with MNIST's evaluator; it trained a 1000-class one."""
    asked = {}

    def build(data_dir, seed, force, quiet, dataset, device):
        asked["dataset"] = dataset
        return {"test_acc": 0.99, "sha256": "f" * 64, "path": "lenet-mnist-s0.pt"}

    monkeypatch.setattr(ev, "build_evaluator", build)
    assert main(["classifier", "--dataset", "stacked_mnist", "--quiet"]) == 0
    assert asked["dataset"] == "mnist" and capsys.readouterr().out.startswith("evaluator of mnist:")


@pytest.mark.parametrize("command", ["gan", "classifier"])
def test_dataset_help_names_stacked_mnist_missing_before(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "stacked_mnist" in " ".join(capsys.readouterr().out.split())


def test_python_dash_m_advlab_runs_the_command_not_an_error():
    """`python -m advlab` said: No module named advlab.__main__."""
    done = subprocess.run([sys.executable, "-m", "advlab", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("advlab "), done.stderr
