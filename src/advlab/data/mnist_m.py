"""MNIST-M from its original release: `mnist_m.tar.gz` or the unpacked `mnist_m/` folder.

Layout: mnist_m/mnist_m_{train,test}/*.png (32 x 32 RGB) and
mnist_m/mnist_m_{train,test}_labels.txt with one `FILENAME LABEL` pair per line.
The archive is read in place, member by member; a member whose path would land outside
the archive's folder (absolute, `..`, or a link) is refused.
"""

from __future__ import annotations

import tarfile
from pathlib import Path, PurePosixPath

import numpy as np

from advlab.data.images import decode_image
from advlab.errors import DataError

SPLITS = {"train": 59001, "test": 9001}


def _parse_labels(raw: bytes, source: str) -> dict[str, int]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(
            f"{source}: not a text label list (byte {e.start} is not UTF-8); is this the MNIST-M release?"
        ) from None
    labels = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) > 9:
            raise DataError(f"{source}:{lineno}: expected 'FILENAME LABEL' with LABEL in 0..9, got {line!r}")
        labels[parts[0]] = int(parts[1])
    return labels


def _stack(images: dict[str, np.ndarray], labels: dict[str, int], split: str, source: str, expected: int | None):
    missing = sorted(set(labels) - set(images))
    if missing:
        raise DataError(f"{source}: {len(missing)} images of the {split} label list are missing (first: {missing[0]})")
    if expected is not None and len(labels) != expected:
        raise DataError(f"{source}: {split} split has {len(labels)} labelled images, expected {expected}")
    names = sorted(labels)
    shapes = {images[n].shape for n in names}
    if len(shapes) != 1:
        raise DataError(f"{source}: {split} images differ in size: {sorted(shapes)[:3]}")
    x = np.stack([images[n] for n in names]).transpose(0, 3, 1, 2)
    y = np.array([labels[n] for n in names], dtype=np.int64)
    return np.ascontiguousarray(x), y


def _check_member(member: tarfile.TarInfo, archive: Path) -> None:
    path = PurePosixPath(member.name)
    if member.issym() or member.islnk():
        kind = "symbolic" if member.issym() else "hard"
        raise DataError(
            f"{archive}: refusing archive member {member.name!r} (a {kind} link to {member.linkname!r}; "
            "the release holds only images and label lists)"
        )
    if path.is_absolute() or ".." in path.parts:
        raise DataError(f"{archive}: refusing archive member {member.name!r} (it would land outside the target folder)")


def read_mnist_m_archive(archive: str | Path, check_counts: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read both splits from the release archive: {split: (x (N,3,32,32) uint8, y (N,) int64)}."""
    archive = Path(archive)
    if not archive.is_file():
        raise DataError(f"file not found: {archive}")
    images: dict[str, dict[str, np.ndarray]] = {s: {} for s in SPLITS}
    label_texts: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                _check_member(member, archive)
                if not member.isfile():
                    continue
                parts = PurePosixPath(member.name).parts
                for split in SPLITS:
                    if len(parts) >= 2 and parts[-1] == f"mnist_m_{split}_labels.txt":
                        label_texts[split] = tar.extractfile(member).read()
                    elif len(parts) >= 2 and parts[-2] == f"mnist_m_{split}" and parts[-1].endswith(".png"):
                        images[split][parts[-1]] = decode_image(tar.extractfile(member).read(), member.name)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise DataError(f"cannot read {archive}: corrupt or truncated archive ({e})") from None
    out = {}
    for split in SPLITS:
        if split not in label_texts:
            raise DataError(f"{archive}: no mnist_m_{split}_labels.txt inside; is this the MNIST-M release archive?")
        labels = _parse_labels(label_texts[split], f"{archive}:mnist_m_{split}_labels.txt")
        out[split] = _stack(images[split], labels, split, str(archive), SPLITS[split] if check_counts else None)
    return out


def read_mnist_m_folder(folder: str | Path, check_counts: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read both splits from the unpacked release folder (the one holding mnist_m_train/)."""
    folder = Path(folder)
    out = {}
    for split in SPLITS:
        label_file = folder / f"mnist_m_{split}_labels.txt"
        if not label_file.is_file():
            raise DataError(f"{folder}: missing {label_file.name}; is this the unpacked MNIST-M folder?")
        labels = _parse_labels(label_file.read_bytes(), str(label_file))
        image_dir = folder / f"mnist_m_{split}"
        images = {}
        for name in labels:
            path = image_dir / name
            if path.is_file():
                images[name] = decode_image(path.read_bytes(), str(path))
        out[split] = _stack(images, labels, split, str(folder), SPLITS[split] if check_counts else None)
    return out
