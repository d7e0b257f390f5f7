"""`advlab predict` on a finished tiny run: files of other sizes and channels, folders, .npz,
unreadable inputs, output formats and bad input; the class names of a run on image folders,
and of a run from before runs recorded names."""

from __future__ import annotations

import csv
import io
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from advlab.cli import main
from advlab.data.domains import load_domain
from advlab.train.restore import load_run_model
from conftest import NAMED_CLASSES
from tests_helpers import assert_one_line_error, run_here


@pytest.fixture(scope="module")
def run(tiny_domains, tmp_path_factory):
    source, target = tiny_domains
    out = tmp_path_factory.mktemp("predict") / "run"
    args = ["adapt", "--source", str(source), "--target", str(target), "--epochs", "1", "--batch-size", "32"]
    assert main([*args, "--val-size", "50", "--threads", "1", "--quiet", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def named_run(named_domains, tmp_path_factory):
    source, target = named_domains
    out = tmp_path_factory.mktemp("predict-named") / "run"
    args = ["adapt", "--source", str(source), "--target", str(target), "--epochs", "1", "--batch-size", "16"]
    assert main([*args, "--val-size", "10", "--threads", "1", "--quiet", "--out", str(out)]) == 0
    return out


def test_the_run_predicts_its_own_test_images_as_its_evaluation_does(run, tiny_domains, capsys):
    assert main(["predict", str(run), str(tiny_domains[1])]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    tests = [r for r in rows if ":x_test[" in r["input"]]
    model, _ = load_run_model(run)
    with torch.no_grad():
        expected = model(load_domain(str(tiny_domains[1])).test.x).argmax(1).tolist()
    assert [int(r["class_index"]) for r in tests] == expected
    assert all(r["class"] == r["class_index"] for r in rows)  # an .npz without names: its classes are "0".."9"
    assert len(rows) == 600 + 200  # x_train and x_test


def test_files_of_any_size_and_channels_folders_and_unreadable_ones(run, tmp_path, capsys):
    folder = tmp_path / "images"
    (folder / "nested").mkdir(parents=True)
    Image.fromarray(np.full((40, 50, 3), 200, np.uint8)).save(folder / "big.png")
    Image.fromarray(np.full((20, 20), 90, np.uint8)).save(folder / "nested" / "small_grey.jpg")
    (folder / ".hidden.png").write_bytes(b"not read")
    (folder / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "preds.jsonl"
    rc = main(["predict", str(run), str(folder), str(tmp_path / "missing.png"), "--top-k", "3", "--out", str(out)])
    err = capsys.readouterr().err.splitlines()
    assert rc == 1  # some inputs failed; the others were predicted
    assert any("broken.png" in line for line in err) and any("missing.png: not found" in line for line in err)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["input"].rsplit("/", 1)[1] for r in rows] == ["big.png", "small_grey.jpg"]
    for r in rows:
        assert len(r["top_classes"]) == 3 and r["top_classes"][0] == r["class"]
        assert r["top_probabilities"] == sorted(r["top_probabilities"], reverse=True) and 0 < r["confidence"] <= 1


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--top-k", "0"], "--top-k must be in 1..10"),
        (["--checkpoint", "best"], "best.pt not found (the run was not made with --select)"),
        (["--checkpoint", "first"], "--checkpoint must be one of reported, last, best"),
        (["--out", "preds.txt"], "--out must name a .csv or .jsonl file"),
    ],
)
def test_bad_input_is_a_one_line_error(run, tiny_domains, extra, fragment):
    assert_one_line_error(run_here("predict", str(run), str(tiny_domains[1]), *extra), fragment)


def test_an_existing_out_file_is_never_overwritten_and_a_folder_must_be_a_run(run, tiny_domains, tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text("my notes\n")
    assert_one_line_error(run_here("predict", str(run), str(tiny_domains[1]), "--out", str(mine)), "exists")
    assert mine.read_text() == "my notes\n"
    assert_one_line_error(run_here("predict", str(tmp_path), str(tiny_domains[1])), "is not an advlab adapt run")


def test_a_run_on_image_folders_records_their_names_and_predicts_by_them(named_run, named_domains, capsys):
    assert json.loads((named_run / "summary.json").read_text())["classes"] == list(NAMED_CLASSES)
    assert torch.load(named_run / "last.pt", weights_only=True)["classes"] == list(NAMED_CLASSES)
    assert main(["predict", str(named_run), str(named_domains[1] / "test"), "--top-k", "3"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    model, _ = load_run_model(named_run)
    with torch.no_grad():
        expected = model(load_domain(str(named_domains[1])).test.x).argmax(1).tolist()
    assert [int(r["class_index"]) for r in rows] == expected  # the folders' images, in the reader's order
    for r in rows:
        assert r["class"] == NAMED_CLASSES[int(r["class_index"])]
        assert (
            sorted(r["top_classes"].split(";")) == sorted(NAMED_CLASSES) and len(r["top_probabilities"].split(";")) == 3
        )


def test_a_run_from_before_names_predicts_and_evaluates_with_indices(named_run, named_domains, tmp_path, capsys):
    old = tmp_path / "old"
    shutil.copytree(named_run, old)
    state = torch.load(old / "last.pt", weights_only=True)
    del state["classes"], state["classes_given"]
    torch.save(state, old / "last.pt")
    out = tmp_path / "preds.jsonl"
    assert main(["predict", str(old), str(named_domains[1] / "test"), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all(r["class"] == str(r["class_index"]) and r["class"] in ("0", "1", "2") for r in rows)
    capsys.readouterr()
    # its names are advlab's, not its data's: a domain of other names is no contradiction
    assert main(["evaluate", str(old), "--domain", str(named_domains[1]), "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)["per_class_accuracy"]) == ["0", "1", "2"]
