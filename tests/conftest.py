"""Shared fixtures: tiny synthetic domains, so unit and end-to-end tests need no download."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# One thread per process: xdist gives each worker a core, and the runs tests start in real
# processes inherit this (two workers' runs at two threads each oversubscribed the cores)
os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch

TESTS = Path(__file__).resolve().parent
# Each test is in one tier (README: the fast command runs `unit`). A file is `unit` unless it is
# named here; a test in such a file that is quick and in-process says @pytest.mark.unit itself.
TIERS = {
    "faults": ("faults/",),  # kills at system calls, stopped studies
    "slurm": ("report/test_slurm_launcher.py",),  # a real one-node Slurm
    "e2e": (  # whole commands: real processes, training runs, studies
        "test_cli_adapt.py",
        "test_cli_read_only.py",
        "test_cli_select_eval.py",
        "test_cli_predict.py",
        "test_cli_evaluate.py",
        "test_cli_export.py",
        "test_api.py",
        "test_readme_example.py",
        "test_plugins.py",
        "gan/test_cli_gan.py",
        "report/test_reproduce.py",
        "report/test_study.py",
        "report/test_preloaded.py",
        "report/test_launcher.py",
        "report/test_selection.py",
        "runs/test_distributed.py",
        "train/test_resume_identity.py",
        "data/test_real_data.py",
    ),
}


# Files whose module-scoped fixtures are costly (a study, a Slurm cluster, a killed run): their
# tests stay on one xdist worker (--dist loadgroup), so the fixture is built once; every other
# test is dealt out on its own, which keeps the workers evenly loaded (one file per worker left
# one waiting while the other ran test_cli_adapt.py's 6 minutes).
GROUPED = (
    "faults/test_syscall_kills.py",
    "report/test_slurm_launcher.py",
    "report/test_reproduce.py",
    "test_cli_select_eval.py",
    "test_plugins.py",
)


def _where(item) -> str:
    return Path(str(item.fspath)).resolve().relative_to(TESTS).as_posix()


# the smoke study's builder is dealt out first: the Slurm study waits for it, and a worker waiting
# on its lock does nothing. The rest keep their collection order, which mixes the whole commands
# with the quick tests (dealing every heavy test first oversubscribed the cores: 12 min 52 s against
# 10 min 13 s this way, same machine).
FIRST = "report/test_reproduce.py"


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    order = {}
    for item in items:
        where = _where(item)
        if where in GROUPED:
            item.add_marker(pytest.mark.xdist_group(where))
        tier = next((t for t in (*TIERS, "unit") if item.get_closest_marker(t)), None)
        if tier is None:
            tier = next((t for t, files in TIERS.items() if where.startswith(files)), "unit")
            item.add_marker(getattr(pytest.mark, tier))
        order[item.nodeid] = 0 if where == FIRST else 1
    items.sort(key=lambda item: order[item.nodeid])  # stable: the rest as collected


REAL_DATA = Path(os.environ.get("ADVLAB_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def synthetic_digits(n: int, seed: int, colour: bool) -> tuple[np.ndarray, np.ndarray]:
    """Ten fixed blob patterns (the 'classes') plus noise; `colour` puts them on tinted
    noisy backgrounds, a small stand-in for MNIST -> MNIST-M."""
    protos = np.random.default_rng(1234).random((10, 28, 28)) > 0.7
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    digits = protos[y] * 200.0 + rng.normal(0, 20, (n, 28, 28))
    if not colour:
        return np.clip(digits, 0, 255).astype(np.uint8), y
    background = rng.random((n, 3, 1, 1)) * 120 + rng.normal(0, 15, (n, 3, 28, 28))
    tint = rng.random((n, 3, 1, 1)) * 0.5 + 0.5
    x = np.clip(background + digits[:, None] * tint, 0, 255).astype(np.uint8)
    return x, y


def write_domain_npz(path: Path, n_train: int, n_test: int, colour: bool, seed: int) -> Path:
    x_train, y_train = synthetic_digits(n_train, seed, colour)
    x_test, y_test = synthetic_digits(n_test, seed + 1, colour)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def write_domain_folder(root: Path, classes: tuple[str, ...], n_train: int, n_test: int, colour: bool, seed: int):
    """An image folder (train/ and test/, one subfolder per class) of synthetic_digits'
    first len(classes) patterns, pattern i in the subfolder classes[i]: at most n_train and
    n_test images (about as many)."""
    for split, n, s in (("train", n_train, seed), ("test", n_test, seed + 1)):
        x, y = synthetic_digits(n * 10 // len(classes), s, colour)
        for i in np.flatnonzero(y < len(classes))[:n]:
            folder = root / split / classes[y[i]]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(x[i].transpose(1, 2, 0) if colour else x[i]).save(folder / f"{i}.png")
    return root


NAMED_CLASSES = ("cat", "dog", "fish")  # sorted, as the folder reader numbers them


@pytest.fixture(scope="session")
def named_domains(tmp_path_factory) -> tuple[Path, Path]:
    """(source grey, target colour) image folders of the NAMED_CLASSES: about 90 training and
    30 test images each."""
    folder = tmp_path_factory.mktemp("named")
    return (
        write_domain_folder(folder / "source", NAMED_CLASSES, 90, 30, colour=False, seed=0),
        write_domain_folder(folder / "target", NAMED_CLASSES, 90, 30, colour=True, seed=10),
    )


@pytest.fixture(scope="session")
def tiny_domains(tmp_path_factory) -> tuple[Path, Path]:
    """(source.npz grey, target.npz colour): 600 training and 200 test images each."""
    folder = tmp_path_factory.mktemp("domains")
    return (
        write_domain_npz(folder / "source.npz", 600, 200, colour=False, seed=0),
        write_domain_npz(folder / "target.npz", 600, 200, colour=True, seed=10),
    )


@pytest.fixture
def real_data() -> Path:
    if (
        not (REAL_DATA / "mnist" / "train-images-idx3-ubyte.gz").is_file()
        or not (REAL_DATA / "mnist_m" / "mnist_m.tar.gz").is_file()
    ):
        pytest.skip(f"real MNIST / MNIST-M not found under {REAL_DATA} (set ADVLAB_DATA to the shared data folder)")
    return REAL_DATA


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    yield


@pytest.fixture
def read_only_dir(tmp_path):
    """A real read-only file system (a tmpfs mounted `ro`); skips where mounting is not allowed."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here (needs root): {mounted.stderr.strip() or mounted.returncode}")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)
