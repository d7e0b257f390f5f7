import io
import shutil
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from advlab.data.images import to_size
from advlab.data.mnist_m import read_mnist_m_archive, read_mnist_m_folder
from advlab.errors import DataError


def png(seed: int) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def release_members(n_train=3, n_test=2) -> dict[str, bytes]:
    members = {}
    for split, n in (("train", n_train), ("test", n_test)):
        lines = []
        for i in range(n):
            name = f"{i:08d}.png"
            members[f"mnist_m/mnist_m_{split}/{name}"] = png(i + (100 if split == "test" else 0))
            lines.append(f"{name} {i % 10}")
        members[f"mnist_m/mnist_m_{split}_labels.txt"] = ("\n".join(lines) + "\n").encode()
    return members


def write_tar(path, members: dict[str, bytes]):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_reads_release_archive(tmp_path):
    write_tar(tmp_path / "mnist_m.tar.gz", release_members())
    splits = read_mnist_m_archive(tmp_path / "mnist_m.tar.gz", check_counts=False)
    x, y = splits["train"]
    assert x.shape == (3, 3, 32, 32) and x.dtype == np.uint8
    assert y.tolist() == [0, 1, 2]
    assert splits["test"][0].shape == (2, 3, 32, 32)
    expected = np.asarray(Image.open(io.BytesIO(png(1)))).transpose(2, 0, 1)
    assert np.array_equal(x[1], expected)


def test_counts_are_checked(tmp_path):
    write_tar(tmp_path / "m.tar.gz", release_members())
    with pytest.raises(DataError, match="expected 59001"):
        read_mnist_m_archive(tmp_path / "m.tar.gz")


def test_reads_unpacked_folder_same_as_archive(tmp_path):
    members = release_members()
    write_tar(tmp_path / "m.tar.gz", members)
    for name, data in members.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    a = read_mnist_m_archive(tmp_path / "m.tar.gz", check_counts=False)
    b = read_mnist_m_folder(tmp_path / "mnist_m", check_counts=False)
    for split in a:
        assert np.array_equal(a[split][0], b[split][0]) and np.array_equal(a[split][1], b[split][1])


@pytest.mark.parametrize("evil", ["../escape.png", "/etc/evil.png", "mnist_m/../../x.txt"])
def test_refuses_members_outside_target(tmp_path, evil):
    members = release_members()
    members[evil] = b"x"
    write_tar(tmp_path / "m.tar.gz", members)
    with pytest.raises(DataError, match="refusing archive member"):
        read_mnist_m_archive(tmp_path / "m.tar.gz", check_counts=False)


def test_refuses_symlink_member(tmp_path):
    with tarfile.open(tmp_path / "m.tar", "w") as tar:
        info = tarfile.TarInfo("mnist_m/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(DataError, match="refusing") as err:
        read_mnist_m_archive(tmp_path / "m.tar", check_counts=False)
    assert "symbolic link to '/etc/passwd'" in str(err.value) and "outside" not in str(err.value)


def test_truncated_archive(tmp_path):
    write_tar(tmp_path / "m.tar.gz", release_members())
    data = (tmp_path / "m.tar.gz").read_bytes()
    (tmp_path / "m.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="corrupt or truncated"):
        read_mnist_m_archive(tmp_path / "m.tar.gz", check_counts=False)


def test_missing_image_listed_in_labels(tmp_path):
    members = release_members()
    del members["mnist_m/mnist_m_train/00000001.png"]
    write_tar(tmp_path / "m.tar.gz", members)
    with pytest.raises(DataError, match="missing"):
        read_mnist_m_archive(tmp_path / "m.tar.gz", check_counts=False)


def test_centre_crop_and_resize_to_28():
    x = torch.arange(32 * 32, dtype=torch.float32).reshape(1, 1, 32, 32).to(torch.uint8)
    cropped = to_size(x, 28, "crop")
    assert cropped.shape == (1, 1, 28, 28) and torch.equal(cropped, x[..., 2:30, 2:30])
    assert to_size(x, 28, "resize").shape == (1, 1, 28, 28)


def test_label_list_that_is_not_utf8_is_one_line(tmp_path):
    members = release_members()
    members["mnist_m/mnist_m_train_labels.txt"] = b"00000000.png 0\n\xff\xfe 1\n"
    write_tar(tmp_path / "m.tar.gz", members)
    with pytest.raises(DataError, match="mnist_m_train_labels.txt: not a text label list"):
        read_mnist_m_archive(tmp_path / "m.tar.gz", check_counts=False)
    for name, data in members.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError, match="not a text label list"):
        read_mnist_m_folder(tmp_path / "mnist_m", check_counts=False)


def test_decoded_mnist_m_is_cached_as_arrays_rebuilt_when_damaged_and_the_old_npz_is_migrated(tmp_path, monkeypatch):
    from advlab.data import domains

    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path / "cache"))
    (tmp_path / "data" / "mnist_m").mkdir(parents=True)
    write_tar(tmp_path / "data" / "mnist_m" / "mnist_m.tar.gz", release_members())
    decoded = []

    def decode(path):
        decoded.append(path)
        return read_mnist_m_archive(path, check_counts=False)

    monkeypatch.setattr(domains, "read_mnist_m_archive", decode)
    first = domains.load_mnist_m(tmp_path / "data", quiet=True)
    [folder] = (tmp_path / "cache").iterdir()
    assert sorted(f.name for f in folder.iterdir()) == ["x_test.npy", "x_train.npy", "y_test.npy", "y_train.npy"]
    again = domains.load_mnist_m(tmp_path / "data", quiet=True)
    assert len(decoded) == 1 and all(np.array_equal(a, b) for s in first for a, b in zip(first[s], again[s]))

    (folder / "x_train.npy").write_bytes(b"\x93NUMPY garbage")  # damaged: rebuilt, never trusted
    assert np.array_equal(domains.load_mnist_m(tmp_path / "data", quiet=True)["train"][0], first["train"][0])
    assert len(decoded) == 2

    shutil.rmtree(folder)  # as an earlier version left it: one .npz, read instead of decoding, then replaced
    older = folder.with_suffix(".npz")
    np.savez(older, **{f"{k}_{s}": v for s, (x, y) in first.items() for k, v in (("x", x), ("y", y))})
    migrated = domains.load_mnist_m(tmp_path / "data", quiet=True)
    assert len(decoded) == 2 and folder.is_dir() and not older.exists()
    assert np.array_equal(migrated["test"][1], first["test"][1])
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [folder.name]  # no half-written folder left
