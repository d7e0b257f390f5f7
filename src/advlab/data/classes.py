"""Class names: what each class index means to the user.

Labels are class indices everywhere inside advlab; names are what a user reads in
predictions and evaluations. A domain's data may give them (an image folder's train/
subfolders, an .npz's `classes` array); otherwise they are advlab's own (a built-in set's
digits, or the indices themselves).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from advlab.errors import AdvlabError, DataError


def index_names(n: int) -> tuple[str, ...]:
    """The names of classes nobody named: "0".."n-1", so that a name always exists to print."""
    return tuple(str(i) for i in range(n))


def checked_names(names: np.ndarray, where: str) -> tuple[str, ...]:
    """An .npz's `classes` as names: non-empty, distinct strings (their count is checked
    against the labels where the domain loads)."""
    if names.ndim != 1 or names.dtype.kind != "U":
        raise DataError(
            f"{where}: classes must be a 1-d array of strings (one name per class), got {names.dtype} of shape "
            f"{names.shape}"
        )
    names = tuple(str(n) for n in names)
    if "" in names:
        raise DataError(f"{where}: classes: class {names.index('')} has an empty name")
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise DataError(f"{where}: classes: {name!r} names both class {seen[name]} and class {i}")
        seen[name] = i
    return names


def refuse_other_classes(ours: Sequence[str], ours_said: str, theirs: Sequence[str], theirs_said: str) -> None:
    """Refuse two domains whose own names differ at some index: their labels share numbers
    but not meanings, so every prediction or accuracy counted across them would be wrong.
    Only call it where both sets of names came from the data (advlab's defaults mean nothing)."""
    size = max(len(ours), len(theirs))
    index = next((i for i in range(size) if _name(ours, i) != _name(theirs, i)), None)
    if index is None:
        return
    raise AdvlabError(
        f"class {index} is {_name(ours, index)} in {ours_said} but {_name(theirs, index)} in {theirs_said}: "
        "their labels mean other classes (give both the same class names in the same order)"
    )


def _name(names: Sequence[str], i: int) -> str:
    return repr(names[i]) if i < len(names) else "absent"
