"""`advlab evaluate` on a finished tiny run: its own target domain (the run's own numbers), a
domain it never saw, the confusion matrix by hand, the figure, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from advlab.cli import main
from advlab.evaluate import confusion
from conftest import write_domain_npz
from tests_helpers import assert_one_line_error, run_here


@pytest.fixture(scope="module")
def run(tiny_domains, tmp_path_factory):
    source, target = tiny_domains
    out = tmp_path_factory.mktemp("evaluate") / "run"
    args = ["adapt", "--source", str(source), "--target", str(target), "--epochs", "1", "--batch-size", "32"]
    assert main([*args, "--val-size", "50", "--threads", "1", "--quiet", "--out", str(out)]) == 0
    return out


def test_the_confusion_matrix_by_hand():
    counts = confusion(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 3)
    assert counts.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]


def test_on_its_own_target_it_reports_the_runs_own_accuracy(run, tiny_domains, capsys):
    assert main(["evaluate", str(run), "--domain", str(tiny_domains[1]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert result["accuracy"] == pytest.approx(last["target_acc"], abs=1e-6) and result["images"] == 200
    assert sum(map(sum, result["confusion"])) == 200 and len(result["per_class_accuracy"]) == 10


def test_a_domain_the_run_never_saw_and_its_figure(run, tmp_path, capsys):
    third = write_domain_npz(tmp_path / "third.npz", 100, 80, colour=True, seed=99)
    figure = tmp_path / "confusion.png"
    assert main(["evaluate", str(run), "--domain", str(third), "--figure", str(figure)]) == 0
    said = capsys.readouterr().out
    assert "third.npz" in said and "accuracy" in said and figure.stat().st_size > 1000


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--split", "valid"], "--split must be test or train"),
        (["--figure", "confusion.jpg"], "--figure must name a new .png file"),
        (["--checkpoint", "best"], "best.pt not found"),
    ],
)
def test_bad_input_is_a_one_line_error(run, tiny_domains, extra, fragment):
    assert_one_line_error(run_here("evaluate", str(run), "--domain", str(tiny_domains[1]), *extra), fragment)


def test_a_domain_of_more_classes_than_the_model_knows_is_refused(run, tmp_path):
    many = tmp_path / "many.npz"
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 3, 28, 28), dtype=np.uint8)
    np.savez(many, x_train=x, y_train=np.arange(40) % 12, x_test=x, y_test=np.arange(40) % 12)
    assert_one_line_error(run_here("evaluate", str(run), "--domain", str(many)), "has 12 classes")
