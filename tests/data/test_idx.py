import gzip
import struct

import numpy as np
import pytest

from advlab.data.idx import read_idx_images, read_idx_labels
from advlab.errors import DataError


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    return (
        struct.pack(">I", magic)
        + b"".join(struct.pack(">I", d) for d in array.shape)
        + array.astype(np.uint8).tobytes()
    )


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, (5, 28, 28)).astype(np.uint8)


@pytest.mark.parametrize("compress", [False, True])
def test_reads_raw_and_gzip(tmp_path, images, compress):
    data = idx_bytes(images, 2051)
    path = tmp_path / ("x.gz" if compress else "x")
    path.write_bytes(gzip.compress(data) if compress else data)
    assert np.array_equal(read_idx_images(path), images)


def test_labels(tmp_path):
    labels = np.array([0, 9, 3], dtype=np.uint8)
    (tmp_path / "y").write_bytes(idx_bytes(labels, 2049))
    assert read_idx_labels(tmp_path / "y").tolist() == [0, 9, 3]


def test_bad_magic(tmp_path, images):
    (tmp_path / "x").write_bytes(idx_bytes(images, 2049))
    with pytest.raises(DataError, match="magic"):
        read_idx_images(tmp_path / "x")


def test_truncated_payload(tmp_path, images):
    (tmp_path / "x").write_bytes(idx_bytes(images, 2051)[:-10])
    with pytest.raises(DataError, match="truncated"):
        read_idx_images(tmp_path / "x")


def test_truncated_gzip(tmp_path, images):
    (tmp_path / "x.gz").write_bytes(gzip.compress(idx_bytes(images, 2051))[:-30])
    with pytest.raises(DataError, match="corrupt or truncated"):
        read_idx_images(tmp_path / "x.gz")


def test_label_out_of_range(tmp_path):
    (tmp_path / "y").write_bytes(idx_bytes(np.array([1, 12]), 2049))
    with pytest.raises(DataError, match="label 12"):
        read_idx_labels(tmp_path / "y")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_idx_images(tmp_path / "nope")
