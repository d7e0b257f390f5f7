"""`advlab evaluate` on a finished tiny run: its own target domain (the run's own numbers), a
domain it never saw, the confusion matrix by hand, the figure, and bad input; a run on named
image folders says their names, and refuses a domain that names its classes otherwise."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from advlab.cli import main
from advlab.evaluate import MAX_NAMED_TICKS, confusion, tick_labels
from conftest import NAMED_CLASSES, synthetic_digits, write_domain_npz
from tests_helpers import assert_one_line_error, run_here


@pytest.fixture(scope="module")
def run(tiny_domains, tmp_path_factory):
    source, target = tiny_domains
    out = tmp_path_factory.mktemp("evaluate") / "run"
    args = ["adapt", "--source", str(source), "--target", str(target), "--epochs", "1", "--batch-size", "32"]
    assert main([*args, "--val-size", "50", "--threads", "1", "--quiet", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def named_run(named_domains, tmp_path_factory):
    source, target = named_domains
    out = tmp_path_factory.mktemp("evaluate-named") / "run"
    args = ["adapt", "--source", str(source), "--target", str(target), "--epochs", "1", "--batch-size", "16"]
    assert main([*args, "--val-size", "10", "--threads", "1", "--quiet", "--out", str(out)]) == 0
    return out


def test_the_confusion_matrix_by_hand():
    counts = confusion(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 3)
    assert counts.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]


def test_on_its_own_target_it_reports_the_runs_own_accuracy(run, tiny_domains, capsys):
    assert main(["evaluate", str(run), "--domain", str(tiny_domains[1]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert result["accuracy"] == pytest.approx(last["target_acc"], abs=1e-6) and result["images"] == 200
    assert sum(map(sum, result["confusion"])) == 200
    assert list(result["per_class_accuracy"]) == result["classes"] == [str(i) for i in range(10)]  # no names given


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


def test_a_run_on_named_folders_says_their_names(named_run, named_domains, tmp_path, capsys):
    assert main(["evaluate", str(named_run), "--domain", str(named_domains[1]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result["per_class_accuracy"]) == result["classes"] == list(NAMED_CLASSES)
    assert len(result["confusion"]) == 3
    figure = tmp_path / "confusion.png"
    assert main(["evaluate", str(named_run), "--domain", str(named_domains[1]), "--figure", str(figure)]) == 0
    said = capsys.readouterr().out
    assert all(f"{name} " in said.splitlines()[1] for name in NAMED_CLASSES) and figure.is_file()


def named_npz(path, classes):
    x, y = synthetic_digits(60, 5, colour=True)
    y = y % len(classes)
    np.savez(path, x_train=x, y_train=y, x_test=x, y_test=y, classes=np.array(classes))
    return path


def test_a_domain_naming_its_classes_otherwise_is_refused_but_fewer_of_the_same_are_scored(named_run, tmp_path):
    other = named_npz(tmp_path / "other.npz", ["dog", "cat", "fish"])
    result = run_here("evaluate", str(named_run), "--domain", str(other))
    assert_one_line_error(result, f"class 0 is 'cat' in run {named_run} but 'dog' in {other}")
    assert result.stderr.startswith("advlab: error:")
    fewer = named_npz(tmp_path / "fewer.npz", ["cat", "dog"])  # the run's first two classes
    scored = run_here("evaluate", str(named_run), "--domain", str(fewer), "--json")
    assert scored.returncode == 0 and list(json.loads(scored.stdout)["per_class_accuracy"]) == list(NAMED_CLASSES)


@pytest.mark.unit
def test_the_figure_labels_its_axes_by_short_names_and_many_classes_by_index():
    assert tick_labels(["cat", "a very long class name"]) == ["cat", "a very long…"]
    many = [f"class {i}" for i in range(MAX_NAMED_TICKS + 1)]
    assert tick_labels(many) == [str(i) for i in range(MAX_NAMED_TICKS + 1)]
