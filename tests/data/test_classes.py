"""Class names: read from an image folder's subfolders and an .npz's `classes`, advlab's own
for the digit sets and unnamed data, bad names as one-line errors, and a source and target
whose names differ refused before a run writes anything."""

from __future__ import annotations

import numpy as np
import pytest

from advlab.data import domains, stacked
from advlab.data.classes import refuse_other_classes
from advlab.data.domains import load_domain
from advlab.errors import AdvlabError
from conftest import NAMED_CLASSES, synthetic_digits, write_domain_folder, write_domain_npz
from tests_helpers import assert_one_line_error, run_here


def write_named_npz(path, classes, n=60):
    """Three classes of synthetic digits, and `classes` as the archive's names (None: no names)."""
    x, y = synthetic_digits(n, 0, colour=False)
    y = y % 3
    names = {} if classes is None else {"classes": classes}
    np.savez(path, x_train=x, y_train=y, x_test=x, y_test=y, **names)
    return path


def assert_refused(result) -> None:
    assert result.stderr.startswith("advlab: error:"), result.stderr


def test_an_image_folder_names_its_classes_by_its_subfolders_in_label_order(tmp_path):
    folder = write_domain_folder(tmp_path / "d", ("10", "2", "9"), 30, 10, colour=False, seed=0)
    domain = load_domain(str(folder))
    assert domain.classes == ("2", "9", "10") and domain.classes_given  # numbers in numeric order, as labelled
    named = write_domain_folder(tmp_path / "e", NAMED_CLASSES, 30, 10, colour=False, seed=0)
    assert load_domain(str(named)).classes == NAMED_CLASSES


def test_an_npz_names_its_classes_by_its_classes_array_and_otherwise_by_index(tmp_path):
    named = load_domain(str(write_named_npz(tmp_path / "named.npz", np.array(["cat", "dog", "fish"]))))
    assert named.classes == ("cat", "dog", "fish") and named.classes_given
    plain = load_domain(str(write_domain_npz(tmp_path / "plain.npz", 50, 20, colour=False, seed=0)))
    assert plain.classes == tuple(str(i) for i in range(10)) and not plain.classes_given


def test_the_digit_sets_are_named_by_their_digits(monkeypatch):
    x, y = synthetic_digits(400, 0, colour=False)
    monkeypatch.setattr(domains, "load_mnist", lambda root, quiet: {s: (x[:, None], y) for s in ("train", "test")})
    monkeypatch.setattr(stacked, "TRAIN_IMAGES", 3000)
    monkeypatch.setattr(stacked, "TEST_IMAGES", 100)
    mnist = load_domain("mnist")
    assert mnist.classes == tuple("0123456789") and not mnist.classes_given
    triples = load_domain("stacked_mnist")
    assert triples.classes[:12:11] == ("000", "011") and len(triples.classes) == triples.num_classes
    assert not triples.classes_given  # advlab's names: a folder of "0".."999" is not contradicted by them


@pytest.mark.parametrize(
    "classes, fragment",
    [
        (np.array(["cat", "dog"]), "classes holds 2 names but its labels have 3 classes"),
        (np.array(["cat", "dog", "cat"]), "'cat' names both class 0 and class 2"),
        (np.arange(3), "classes must be a 1-d array of strings (one name per class), got int64"),
        (np.array([["cat", "dog", "fish"]]), "classes must be a 1-d array of strings"),
        (np.array(["cat", "dog", "fish"], dtype=object), "classes is an array of Python objects"),
        (np.array(["cat", "", "fish"]), "class 1 has an empty name"),
    ],
)
def test_bad_class_names_in_an_npz_are_one_line_errors(tmp_path, classes, fragment):
    source = write_named_npz(tmp_path / "bad.npz", classes)
    target = write_named_npz(tmp_path / "plain.npz", None)
    result = run_here("adapt", "--source", str(source), "--target", str(target), "--out", str(tmp_path / "run"))
    assert_one_line_error(result, fragment)
    assert_refused(result)


@pytest.mark.parametrize("target_classes, said", [(("cat", "dog", "fox"), "'fox'"), (("cat", "dog"), "absent")])
def test_a_source_and_target_named_otherwise_are_refused_before_a_run_file_is_written(
    named_domains, tmp_path, target_classes, said
):
    target = write_domain_folder(tmp_path / "target", target_classes, 30, 10, colour=True, seed=1)
    out = tmp_path / "run"
    result = run_here("adapt", "--source", str(named_domains[0]), "--target", str(target), "--out", str(out))
    assert_one_line_error(result, f"class 2 is 'fish' in source {named_domains[0]} but {said} in target {target}")
    assert_refused(result)
    assert not out.exists()


def test_names_that_differ_only_in_order_are_refused_too():
    with pytest.raises(AdvlabError, match="class 0 is 'cat' in ours but 'dog' in theirs"):
        refuse_other_classes(("cat", "dog"), "ours", ("dog", "cat"), "theirs")
    refuse_other_classes(("cat", "dog"), "ours", ("cat", "dog"), "theirs")  # the same names: no error
