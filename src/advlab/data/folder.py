"""A user's own domains: an image folder (train/ and test/, one subfolder per class) or an .npz
(x_train, y_train, x_test, y_test, and optionally `classes`, one name per class index)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from advlab.data.classes import checked_names
from advlab.data.images import decode_image
from advlab.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


def _class_names(split_dir: Path) -> list[str]:
    names = sorted(p.name for p in split_dir.iterdir() if p.is_dir())
    if not names:
        raise DataError(f"{split_dir}: no class subfolders")
    if all(n.isdigit() for n in names):
        names.sort(key=int)
    return names


def folder_classes(root: str | Path) -> tuple[str, ...]:
    """An image folder's class names, one per label (the subfolders of train/, in the order
    `read_image_folder` numbers them), read without decoding an image."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"folder not found: {root}")
    for split in ("train", "test"):
        if not (root / split).is_dir():
            raise DataError(f"{root}: missing folder {split}/ (expected {split}/<class>/<image>)")
    return tuple(_class_names(root / "train"))


def read_image_folder(root: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{split: (x (N,C,H,W) uint8, y (N,) int64)}; classes are the subfolders of train/, in order
    (numerically when all names are numbers), and test/ must use the same names."""
    root = Path(root)
    classes = folder_classes(root)
    out = {}
    for split in ("train", "test"):
        split_dir = root / split
        names = _class_names(split_dir)
        unknown = sorted(set(names) - set(classes))
        if unknown:
            raise DataError(f"{split_dir}: classes {unknown} are not in train/")
        images, labels = [], []
        for label, name in enumerate(classes):
            files = (
                sorted(p for p in (split_dir / name).glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
                if (split_dir / name).is_dir()
                else []
            )
            if split == "train" and not files:  # class folders define the classes: an empty one would vanish silently
                raise DataError(f"{split_dir / name}: class folder holds no images")
            for path in files:
                images.append(decode_image(path.read_bytes(), str(path), mode="RGB"))
                labels.append(label)
        if not images:
            raise DataError(f"{split_dir}: no images found")
        if len({im.shape for im in images}) != 1:
            raise DataError(f"{split_dir}: images differ in size")
        x = np.stack(images).transpose(0, 3, 1, 2)
        if np.array_equal(x[:, 0], x[:, 1]) and np.array_equal(x[:, 0], x[:, 2]):
            x = x[:, :1]  # grey images stay one channel
        out[split] = (np.ascontiguousarray(x), np.array(labels, dtype=np.int64))
    return out


def as_nchw(x: np.ndarray, name: str) -> np.ndarray:
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4 and x.shape[1] in (1, 3):
        return x
    if x.ndim == 4 and x.shape[3] in (1, 3):
        return x.transpose(0, 3, 1, 2)
    raise DataError(f"{name}: expected images of shape (N,H,W), (N,C,H,W) or (N,H,W,C) with C in 1 or 3, got {x.shape}")


def _npz_arrays(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Those of `keys` the archive holds."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: _array(f, k, path) for k in keys if k in f}
    except FileNotFoundError:
        raise DataError(f"file not found: {path}") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile):  # NumPy's own hint (allow_pickle) would mislead here
        raise DataError(f"cannot read {path}: corrupt or not an .npz archive") from None


def _array(archive, key: str, path: Path) -> np.ndarray:
    """One array of an archive. An object array (a pickle, which advlab never loads; what
    a pandas column of strings gives) is named as such, not taken for a corrupt file."""
    try:
        return archive[key]
    except ValueError as e:
        if "allow_pickle" not in str(e):  # NumPy's only word for an object array it will not unpickle
            raise
        raise DataError(
            f"{path}: {key} is an array of Python objects, which advlab does not load (save numbers, or strings "
            "for classes: np.array(names, dtype=str))"
        ) from None


def read_npz_classes(path: str | Path) -> tuple[str, ...] | None:
    """The class names of an .npz (its optional `classes`, one string per label), None
    without them; read without loading the images."""
    names = _npz_arrays(Path(path), ("classes",)).get("classes")
    return None if names is None else checked_names(names, str(path))


def read_npz(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{split: (x, y)} from an .npz holding x_train, y_train, x_test, y_test."""
    path = Path(path)
    return checked_splits(_npz_arrays(path, ("x_train", "y_train", "x_test", "y_test")), path)


def checked_splits(arrays: dict[str, np.ndarray], path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{split: (x, y)} from arrays x_train, y_train, x_test, y_test, each checked: uint8
    images in one of the layouts as_nchw takes, one non-negative integer label per image."""
    out = {}
    for split in ("train", "test"):
        if f"x_{split}" not in arrays or f"y_{split}" not in arrays:
            raise DataError(f"{path}: missing x_{split} or y_{split}")
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8:
            raise DataError(f"{path}: x_{split} must be uint8 (0..255), got {x.dtype}")
        x = as_nchw(x, f"{path}:x_{split}")
        if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer) or (y.size and y.min() < 0):
            raise DataError(f"{path}: y_{split} must be {len(x)} non-negative integer labels")
        out[split] = (np.ascontiguousarray(x), y.astype(np.int64))
    return out
