"""Domains in memory: where data is looked for, the built-in data sets, and user paths.

A domain is two splits of uint8 tensors, images (N, C, S, S) with C = 1 (grey) or 3
(colour) and labels (N,), S the size asked for (the backbone's input size; 28 by default,
--geometry says how). Everything downstream batches by indexing these tensors. A domain
also names its classes, one name per label, for what a user reads (advlab.data.classes).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from advlab.data.classes import index_names
from advlab.data.download import RemoteFile, download
from advlab.data.folder import checked_splits, folder_classes, read_image_folder, read_npz, read_npz_classes
from advlab.data.idx import read_idx_images, read_idx_labels
from advlab.data.images import to_size
from advlab.data.mnist_m import read_mnist_m_archive, read_mnist_m_folder
from advlab.data.stacked import stacked_mnist
from advlab.errors import DataError

IMAGE_SIZE = 28  # the default: the digit networks' and the GANs' size
BUILTIN = ("mnist", "mnist_m", "stacked_mnist")

MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
MNIST_FILES = {
    "train_images": RemoteFile(
        "train-images-idx3-ubyte.gz",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        tuple(m + "train-images-idx3-ubyte.gz" for m in MNIST_MIRRORS),
    ),
    "train_labels": RemoteFile(
        "train-labels-idx1-ubyte.gz",
        "d53e105ee54ea40749a09fcbcd1e9432",
        tuple(m + "train-labels-idx1-ubyte.gz" for m in MNIST_MIRRORS),
    ),
    "test_images": RemoteFile(
        "t10k-images-idx3-ubyte.gz",
        "9fb629c4189551a2d022fa330f9573f3",
        tuple(m + "t10k-images-idx3-ubyte.gz" for m in MNIST_MIRRORS),
    ),
    "test_labels": RemoteFile(
        "t10k-labels-idx1-ubyte.gz",
        "ec29112dd5afa0611ce80d1b7f02629c",
        tuple(m + "t10k-labels-idx1-ubyte.gz" for m in MNIST_MIRRORS),
    ),
}
MNIST_COUNTS = {"train": 60000, "test": 10000}
MNIST_M_FILE = RemoteFile(
    "mnist_m.tar.gz",
    "859df31c91afe82e80e5012ba928f279",
    ("https://cornell.box.com/shared/static/jado7quprg6hzzdubvwzh9umr75damwi",),
)


@dataclass
class Split:
    x: torch.Tensor  # (N, C, S, S) uint8
    y: torch.Tensor  # (N,) int64

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, n: int | None) -> Split:
        return self if n is None or n >= len(self) else Split(self.x[:n], self.y[:n])


@dataclass
class Domain:
    name: str
    train: Split
    test: Split
    num_classes: int
    classes: tuple[str, ...]  # one name per label
    classes_given: bool  # named by the data (folder, .npz classes), not by advlab: only such names can contradict


def data_root(data_dir: str | Path | None = None) -> Path:
    """Where data is looked for: the argument, then $ADVLAB_DATA, then the per-user cache."""
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get("ADVLAB_DATA"):
        return Path(os.environ["ADVLAB_DATA"]).expanduser()
    return cache_root() / "data"


def cache_root() -> Path:
    """A writable folder for derived files (decoded images, the evaluator): $ADVLAB_CACHE or ~/.cache/advlab."""
    if os.environ.get("ADVLAB_CACHE"):
        return Path(os.environ["ADVLAB_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "advlab"


def _mirrored(remote: RemoteFile) -> RemoteFile:
    """$ADVLAB_MIRROR (a base URL) is tried before the public mirrors."""
    mirror = os.environ.get("ADVLAB_MIRROR")
    if not mirror:
        return remote
    return RemoteFile(remote.filename, remote.md5, (mirror.rstrip("/") + "/" + remote.filename, *remote.urls))


def _present_or_download(folder: Path, remote: RemoteFile, quiet: bool) -> Path:
    for name in (remote.filename, remote.filename.removesuffix(".gz")):
        if (folder / name).is_file():
            return folder / name
    if not quiet:
        print(f"{remote.filename} not found in {folder}; downloading")
    try:
        return download(_mirrored(remote), folder, quiet=quiet)
    except PermissionError:
        raise DataError(
            f"{folder} is not writable; cannot download {remote.filename} there (set --data-dir or ADVLAB_DATA)"
        ) from None


MAX_CLASSES = 1000  # a label of 1e9 would otherwise ask for a billion-way classifier


def _splits_to_domain(
    name: str,
    splits: dict[str, tuple[np.ndarray, np.ndarray]],
    geometry: str,
    size: int = IMAGE_SIZE,
    classes: tuple[str, ...] | None = None,
) -> Domain:
    """The splits as a Domain; `classes`: the names its data gave, one per class its labels hold."""
    out = {}
    for split, (x, y) in splits.items():
        if len(x) == 0 or min(x.shape[2:]) == 0:
            raise DataError(f"{name}: its {split} split holds no images (shape {tuple(x.shape)})")
        if y.max() >= MAX_CLASSES:
            raise DataError(
                f"{name}: label {int(y.max())} in its {split} split; labels are class indices 0..{MAX_CLASSES - 1} "
                f"(at most {MAX_CLASSES} classes)"
            )
        x = to_size(torch.from_numpy(np.ascontiguousarray(x)), size, geometry)
        out[split] = Split(x, torch.from_numpy(y.astype(np.int64)))
    num_classes = int(max(out["train"].y.max(), out["test"].y.max())) + 1
    if classes is not None and len(classes) != num_classes:
        raise DataError(
            f"{name}: classes holds {len(classes)} names but its labels have {num_classes} classes "
            f"(0..{num_classes - 1}); give one name per class"
        )
    return Domain(name, out["train"], out["test"], num_classes, classes or index_names(num_classes), bool(classes))


def load_mnist(root: Path, quiet: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    folder = root / "mnist"
    paths = {key: _present_or_download(folder, remote, quiet) for key, remote in MNIST_FILES.items()}
    splits = {}
    for split, count in MNIST_COUNTS.items():
        x = read_idx_images(paths[f"{split}_images"])
        y = read_idx_labels(paths[f"{split}_labels"])
        if len(x) != count or len(y) != count or x.shape[1:] != (28, 28):
            raise DataError(
                f"MNIST {split}: expected {count} images of 28x28 and {count} labels, got images {x.shape} and "
                f"{len(y)} labels"
            )
        splits[split] = (x[:, None], y)
    return splits


def _fingerprint(path: Path) -> str:
    """Content hash of a file, or of a folder's label lists, naming the decoded cache."""
    digest = hashlib.sha256(str(path.resolve()).encode() if path.is_dir() else b"")
    files = sorted(path.glob("*_labels.txt")) if path.is_dir() else [path]
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:20]


def load_mnist_m(root: Path, quiet: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """From the release folder if unpacked, else the archive (downloaded if absent).
    Decoded images are cached under cache_root(), keyed by content: a folder of plain .npy
    arrays, which load three to seven times faster than one .npz of them (measured here: a zip
    member is read through zipfile with its checksum; every run of a study loads MNIST-M again)."""
    folder = root / "mnist_m"
    unpacked = next((p for p in (folder / "mnist_m", folder) if (p / "mnist_m_train_labels.txt").is_file()), None)
    source = unpacked or _present_or_download(folder, MNIST_M_FILE, quiet)
    cached = cache_root() / f"mnist_m-{_fingerprint(source)}"
    if cached.is_dir():
        try:
            return read_array_folder(cached)
        except DataError:
            shutil.rmtree(cached, ignore_errors=True)  # a damaged cache is rebuilt, never trusted
    older = cached.with_suffix(".npz")  # the cache as earlier versions wrote it: read once, then replaced
    splits = None
    if older.is_file():
        try:
            splits = read_npz(older)
        except DataError:
            pass
    if splits is None:
        if not quiet:
            print(f"decoding MNIST-M from {source} (once; cached in {cached.parent})")
        splits = read_mnist_m_folder(source) if unpacked else read_mnist_m_archive(source)
    try:
        write_array_folder(cached, splits)
        older.unlink(missing_ok=True)
    except OSError as e:
        if not quiet:
            print(f"warning: could not cache decoded MNIST-M in {cached.parent}: {e}")
    return splits


ARRAY_FILES = ("x_train", "y_train", "x_test", "y_test")


def write_array_folder(folder: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """{split: (x, y)} as x_train.npy ... in `folder`, made whole or not at all: written in a
    folder of its own, then renamed into place (a process that lost the race keeps the winner's)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for split, (x, y) in splits.items():
            np.save(partial / f"x_{split}.npy", x)
            np.save(partial / f"y_{split}.npy", y)
        try:
            partial.rename(folder)
        except OSError:
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def read_array_folder(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """What write_array_folder wrote, checked as an .npz's arrays are (advlab.data.folder)."""
    try:
        arrays = {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in ARRAY_FILES}
    except (OSError, ValueError, EOFError):
        raise DataError(f"cannot read the cached arrays in {folder}") from None
    return checked_splits(arrays, folder)


def load_domain(
    spec: str, data_dir: str | Path | None = None, geometry: str = "crop", quiet: bool = False, size: int = IMAGE_SIZE
) -> Domain:
    """A built-in name (mnist, mnist_m, stacked_mnist), an image folder (train/, test/) or an
    .npz file, its images brought to size x size by `geometry`. The digit sets' classes are
    their digits (stacked_mnist's the digit triple, "000".."999", as its label reads)."""
    if spec == "mnist":
        return _splits_to_domain(spec, load_mnist(data_root(data_dir), quiet), geometry, size)
    if spec == "stacked_mnist":
        stacked = _splits_to_domain(spec, stacked_mnist(load_mnist(data_root(data_dir), quiet)), geometry, size)
        return replace(stacked, classes=tuple(f"{i:03d}" for i in range(stacked.num_classes)))
    if spec == "mnist_m":
        return _splits_to_domain(spec, load_mnist_m(data_root(data_dir), quiet), geometry, size)
    path = Path(spec).expanduser()
    if path.suffix == ".npz":
        return _splits_to_domain(path.stem, read_npz(path), geometry, size, read_npz_classes(path))
    if path.is_dir():
        return _splits_to_domain(path.name, read_image_folder(path), geometry, size, folder_classes(path))
    raise DataError(
        f"unknown data set {spec!r}: use one of {', '.join(BUILTIN)}, a folder with train/ and test/, or an .npz file"
    )


def given_classes(spec: str) -> tuple[str, ...] | None:
    """The class names a domain's own data give (an image folder's, an .npz's `classes`), None
    where advlab names them; read without loading images, so that a run can compare its
    domains' names before it writes anything."""
    if spec in BUILTIN:
        return None
    path = Path(spec).expanduser()
    if path.suffix == ".npz":
        return read_npz_classes(path)
    return folder_classes(path) if path.is_dir() else None
