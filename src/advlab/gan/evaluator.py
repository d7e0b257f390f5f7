"""`advlab classifier`: the seeded LeNet evaluator behind cond_acc, FID, coverage and IS.

A GAN's quality is read by a classifier of the data it learned: one evaluator per data set,
keyed by the data's content (a fingerprint of its training images and labels), trained
once, saved in the writable cache with its sha256 recorded next to it, and reused. A cached
file whose hash no longer matches is refused, not trusted; so is scoring a GAN with the
evaluator of other data.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from advlab.data.domains import Split, cache_root, load_domain
from advlab.errors import AdvlabError
from advlab.metrics.accuracy import accuracy, batched
from advlab.models.lenet import LeNet
from advlab.runs.checkpoint import load_checkpoint, save_checkpoint
from advlab.runs.engine import run_epochs
from advlab.runs.files import atomic_write
from advlab.runs.sampling import IndexStream

MIN_TEST_ACCURACY = 0.993


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """uint8 images -> floats in [-1, 1], the generator's output range."""
    return x.float() / 127.5 - 1.0


def data_fingerprint(split: Split) -> str:
    """A content key of a training split: the same images and labels give the same key."""
    digest = hashlib.sha256()
    for t in (split.x, split.y):
        digest.update(str((tuple(t.shape), str(t.dtype))).encode())
        digest.update(t.contiguous().numpy().data)  # the buffer itself: no copy of the images
    return digest.hexdigest()[:16]


def evaluator_path(seed: int = 0, dataset: str = "mnist", fingerprint: str | None = None) -> Path:
    """MNIST's keeps its name from before evaluators were per data set; any other data set's
    name carries its fingerprint, so changed content never meets a stale evaluator."""
    if dataset == "mnist":
        return cache_root() / "evaluator" / f"lenet-mnist-s{seed}.pt"
    name = "".join(c if c.isalnum() else "_" for c in Path(dataset).stem)[:40]
    return cache_root() / "evaluator" / f"lenet-{name}-{fingerprint}-s{seed}.pt"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shifted(x: torch.Tensor, generator: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Each image translated by its own random offset of up to `max_shift` pixels (zero fill)."""
    n, c, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=float(x.min()))
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator)
    rows = (torch.arange(h)[None] + dy[:, None])[:, :, None]
    cols = (torch.arange(w)[None] + dx[:, None])[:, None, :]
    if c == 1:  # MNIST's path, kept as it was (the cached evaluator's weights depend on it)
        return padded[torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)
    return padded[
        torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows[:, None], cols[:, None]
    ]


def train_evaluator(
    train: Split,
    test: Split,
    seed: int = 0,
    epochs: int = 5,
    batch_size: int = 128,
    quiet: bool = False,
    num_classes: int = 10,
    device: str | torch.device = "cpu",
) -> tuple[LeNet, float]:
    """The LeNet, trained on `device`; batches and their random shifts are drawn on the CPU
    and moved there, so the CPU's result does not depend on the device option existing."""
    torch.manual_seed(seed)
    model = LeNet(num_classes, train.x.shape[1]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    stream = IndexStream(len(train), batch_size, seed)
    steps = len(train) // batch_size
    generator = torch.Generator().manual_seed(seed)

    def begin(epoch: int) -> None:
        for group in optimizer.param_groups:
            group["lr"] = 2e-3 * (0.4**epoch)

    def step(epoch: int, i: int) -> None:
        idx = stream.indices(epoch * steps + i)
        loss = F.cross_entropy(
            model(_shifted(to_unit_range(train.x[idx]), generator).to(device)), train.y[idx].to(device)
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    run_epochs(0, epochs, steps, step, lambda epoch, seconds: None, quiet, begin=begin, images_per_step=batch_size)
    model.eval()
    test_acc = accuracy(batched(lambda x: model(to_unit_range(x)), test.x, device=device), test.y)
    return model.cpu(), test_acc


def build_evaluator(
    data_dir: str | None = None,
    seed: int = 0,
    force: bool = False,
    quiet: bool = False,
    dataset: str = "mnist",
    device: str | torch.device = "cpu",
) -> dict:
    """Train (unless cached) and cache the evaluator of `dataset`; returns its record (path,
    sha256, test accuracy, the data's fingerprint, channels and classes)."""
    if dataset == "mnist" and not force:  # its name needs no fingerprint: a cached one is found without reading MNIST
        record_path = evaluator_path(seed).with_suffix(".json")
        if record_path.exists() and evaluator_path(seed).exists():
            return json.loads(record_path.read_text())
    domain = load_domain(dataset, data_dir, quiet=quiet)
    fingerprint = data_fingerprint(domain.train)
    path = evaluator_path(seed, dataset, fingerprint)
    record_path = path.with_suffix(".json")
    if path.exists() and record_path.exists() and not force:
        return json.loads(record_path.read_text())
    if not quiet:
        print(
            f"training the evaluator of {dataset} ({len(domain.train)} images, {domain.num_classes} classes) for the "
            "GAN metrics",
            flush=True,
        )
    started = time.perf_counter()
    model, test_acc = train_evaluator(
        domain.train, domain.test, seed, quiet=quiet, num_classes=domain.num_classes, device=device
    )
    if dataset == "mnist" and test_acc < MIN_TEST_ACCURACY:
        raise AdvlabError(f"evaluator reached only {test_acc:.4f} test accuracy (< {MIN_TEST_ACCURACY}); not cached")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint({"model": model.state_dict(), "seed": seed, "test_acc": test_acc}, path)
    record = {
        "path": str(path),
        "sha256": _sha256(path),
        "test_acc": test_acc,
        "seed": seed,
        "seconds": time.perf_counter() - started,
        "dataset": dataset,
        "fingerprint": fingerprint,
        "channels": int(domain.train.x.shape[1]),
        "num_classes": domain.num_classes,
        "trained_on": torch.device(device).type,
    }
    atomic_write(record_path, json.dumps(record, indent=2) + "\n")
    return record


def retrain_command(dataset: str, data_dir: str | None, seed: int) -> str:
    """The `advlab classifier` command that retrains this evaluator: without --dataset it
    would retrain MNIST's, whatever data set's evaluator is broken."""
    words = ["advlab", "classifier", "--dataset", dataset]
    words += ["--data-dir", data_dir] if data_dir else []
    words += ["--seed", str(seed)] if seed else []
    return shlex.join([*words, "--force"])


def load_evaluator(
    data_dir: str | None = None,
    seed: int = 0,
    quiet: bool = False,
    dataset: str = "mnist",
    fingerprint: str | None = None,
    device: str | torch.device = "cpu",
) -> LeNet:
    """The cached evaluator of `dataset`, trained first if there is none; its sha256 is checked,
    and, given the fingerprint of the data a GAN learned, that it is that data's."""
    record = build_evaluator(data_dir, seed, quiet=quiet, dataset=dataset, device=device)
    path = Path(record["path"])
    if not path.exists() or _sha256(path) != record["sha256"]:
        again = retrain_command(dataset, data_dir, seed)
        raise AdvlabError(f"cached evaluator {path} does not match its recorded sha256; run '{again}'")
    known = record.get("fingerprint")
    if fingerprint and known and fingerprint != known:
        raise AdvlabError(
            f"the GAN learned other data than {dataset} holds now (fingerprint {fingerprint}, the evaluator's "
            f"{known}); "
            "its metrics would be another data set's"
        )
    model = LeNet(record.get("num_classes", 10), record.get("channels", 1))
    model.load_state_dict(load_checkpoint(path)["model"])
    model.test_acc = record["test_acc"]
    return model.to(device).eval()
