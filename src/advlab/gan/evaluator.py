"""`advlab classifier`: the seeded LeNet evaluator behind cond_acc, FID, coverage and IS.

It is trained once, saved in the writable cache with its sha256 recorded next to it, and
reused; a cached file whose hash no longer matches is refused, not trusted.
"""

from __future__ import annotations

import hashlib
import json
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
from advlab.runs.sampling import IndexStream

MIN_TEST_ACCURACY = 0.993


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """uint8 images -> floats in [-1, 1], the generator's output range."""
    return x.float() / 127.5 - 1.0


def evaluator_path(seed: int = 0) -> Path:
    return cache_root() / "evaluator" / f"lenet-mnist-s{seed}.pt"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shifted(x: torch.Tensor, generator: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Each image translated by its own random offset of up to `max_shift` pixels (zero fill)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=float(x.min()))
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator)
    rows = (torch.arange(h)[None] + dy[:, None])[:, :, None]
    cols = (torch.arange(w)[None] + dx[:, None])[:, None, :]
    return padded[torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)


def train_evaluator(train: Split, test: Split, seed: int = 0, epochs: int = 5, batch_size: int = 128, quiet: bool = False) -> tuple[LeNet, float]:
    torch.manual_seed(seed)
    model = LeNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    stream = IndexStream(len(train), batch_size, seed)
    steps = len(train) // batch_size
    generator = torch.Generator().manual_seed(seed)

    def begin(epoch: int) -> None:
        for group in optimizer.param_groups:
            group["lr"] = 2e-3 * (0.4**epoch)

    def step(epoch: int, i: int) -> None:
        idx = stream.indices(epoch * steps + i)
        loss = F.cross_entropy(model(_shifted(to_unit_range(train.x[idx]), generator)), train.y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    run_epochs(0, epochs, steps, step, lambda epoch, seconds: None, quiet, begin=begin, images_per_step=batch_size)
    model.eval()
    test_acc = accuracy(batched(lambda x: model(to_unit_range(x)), test.x), test.y)
    return model, test_acc


def build_evaluator(data_dir: str | None = None, seed: int = 0, force: bool = False, quiet: bool = False) -> dict:
    """Train (unless cached) and cache the evaluator; returns its record (path, sha256, accuracy)."""
    path = evaluator_path(seed)
    record_path = path.with_suffix(".json")
    if path.exists() and record_path.exists() and not force:
        return json.loads(record_path.read_text())
    mnist = load_domain("mnist", data_dir, quiet=quiet)
    started = time.perf_counter()
    model, test_acc = train_evaluator(mnist.train, mnist.test, seed, quiet=quiet)
    if test_acc < MIN_TEST_ACCURACY:
        raise AdvlabError(f"evaluator reached only {test_acc:.4f} test accuracy (< {MIN_TEST_ACCURACY}); not cached")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint({"model": model.state_dict(), "seed": seed, "test_acc": test_acc}, path)
    record = {"path": str(path), "sha256": _sha256(path), "test_acc": test_acc, "seed": seed, "seconds": time.perf_counter() - started}
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    return record


def load_evaluator(data_dir: str | None = None, seed: int = 0, quiet: bool = False) -> LeNet:
    """The cached evaluator, trained first if there is none; its sha256 is checked."""
    record = build_evaluator(data_dir, seed, quiet=quiet)
    path = Path(record["path"])
    if not path.exists() or _sha256(path) != record["sha256"]:
        raise AdvlabError(f"cached evaluator {path} does not match its recorded sha256; run 'advlab classifier --force'")
    model = LeNet()
    model.load_state_dict(load_checkpoint(path)["model"])
    return model.eval()
