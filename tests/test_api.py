"""advlab from Python: a run trained from numpy arrays, its model loaded, predicting on images
of another size, evaluated, exported; the run directory is the command line's; class names
given with the target's arrays are the run's."""

from __future__ import annotations

import json

import numpy as np
import pytest

import advlab
from advlab.errors import AdvlabError


def arrays(seed: int, colour: bool, n: int = 300) -> dict[str, np.ndarray]:
    """Ten classes of images whose brightness pattern encodes the class (learnable in an epoch)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, 2 * n)
    x = rng.integers(0, 40, (2 * n, 28, 28, 3 if colour else 1), dtype=np.uint8)
    for i, c in enumerate(y):
        x[i, 2 * c : 2 * c + 6, 4:24] = 230
    return {"x_train": x[:n], "y_train": y[:n], "x_test": x[n:], "y_test": y[n:]}


NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path / "cache"))
    source, target = arrays(0, False), arrays(1, True) | {"classes": np.array(NAMES)}  # only the target names them
    out = tmp_path / "run"
    options = {"epochs": 1, "batch_size": 32, "val_size": 50, "validation_size": 50, "threads": 1}
    summary = advlab.adapt(source=source, target=target, method="dann", out=str(out), **options)
    return out, summary, source, target, options


def test_a_run_from_arrays_is_a_run_directory_like_the_command_lines(run, tmp_path):
    out, summary, source, target, options = run
    assert summary["method"] == "dann" and (out / "summary.json").is_file() and (out / "last.pt").is_file()
    config = (out / "config.yaml").read_text()
    assert str(tmp_path / "cache" / "data" / "arrays") in config  # the arrays, written once by content
    # the same arrays name the same file, so a resume finds the same images and extends the run
    advlab.adapt(source=source, target=target, method="dann", out=str(out), resume=True, **(options | {"epochs": 2}))
    assert [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1, 2]


def test_the_loaded_model_predicts_images_of_any_size_and_agrees_with_its_evaluation(run, tmp_path):
    out, _, _, target, _ = run
    model = advlab.load(out)
    labels, probs = model.predict(target["x_test"])
    assert labels.shape == (300,) and probs.shape == (300, 10) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert model.classes == NAMES and np.issubdtype(labels.dtype, np.integer)  # names from the target's arrays
    result = model.evaluate(target)
    assert list(result["per_class_accuracy"]) == list(NAMES)
    assert result["accuracy"] == pytest.approx(float((labels == target["y_test"]).mean()), abs=1e-6)
    bigger = np.repeat(np.repeat(target["x_test"][:5], 2, axis=1), 2, axis=2)  # 56 x 56: cropped to 28 x 28
    assert model.predict(bigger)[0].shape == (5,)
    assert model.export("torchscript", tmp_path / "m.pt")["format"] == "torchscript"


def test_bad_domains_and_images_are_clear_errors(run):
    out = run[0]
    with pytest.raises(AdvlabError, match="a domain is a name, a path, or a mapping"):
        advlab.adapt(source={"x_train": np.zeros((2, 28, 28), np.uint8)}, target="mnist_m", out=str(out) + "-x")
    with pytest.raises(AdvlabError, match="images must be uint8"):
        advlab.load(out).predict(np.zeros((2, 28, 28), np.float32))
