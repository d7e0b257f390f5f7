"""Reader for the IDX format of the original MNIST files (gzip-compressed or raw)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from advlab.errors import DataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    try:
        with open(path, "rb") as f:
            head = f.read(2)
        if head == b"\x1f\x8b":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"cannot read {path}: corrupt or truncated ({e})") from None


def read_idx(path: str | Path, expected_magic: int) -> np.ndarray:
    """Read one IDX file, checking the magic number and that the payload matches the header."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 8:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes)")
    magic = int.from_bytes(data[0:4], "big")
    if magic != expected_magic:
        raise DataError(f"{path}: bad IDX magic number {magic}, expected {expected_magic}")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise DataError(
            f"{path}: payload is {len(data) - header} bytes, header promises {expected - header} (truncated or corrupt)"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def read_idx_images(path: str | Path) -> np.ndarray:
    """Images as (N, H, W) uint8."""
    images = read_idx(path, IMAGES_MAGIC)
    if images.ndim != 3:
        raise DataError(f"{path}: expected a 3-d image array, got shape {images.shape}")
    return images


def read_idx_labels(path: str | Path, num_classes: int = 10) -> np.ndarray:
    """Labels as (N,) uint8, each in [0, num_classes)."""
    labels = read_idx(path, LABELS_MAGIC)
    if labels.ndim != 1:
        raise DataError(f"{path}: expected a 1-d label array, got shape {labels.shape}")
    if labels.size and labels.max() >= num_classes:
        raise DataError(f"{path}: label {int(labels.max())} outside [0, {num_classes})")
    return labels
