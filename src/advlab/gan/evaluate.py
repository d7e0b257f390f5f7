"""Quality of a generator, measured with the cached LeNet evaluator (no download)."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from advlab.data.domains import load_domain
from advlab.data.stacked import MODES
from advlab.errors import AdvlabError
from advlab.gan.evaluator import build_evaluator, load_evaluator, to_unit_range
from advlab.metrics.accuracy import batched
from advlab.metrics.generative import (
    conditional_accuracy,
    coverage,
    frechet_distance_of,
    inception_score,
    kl_from_uniform,
    mode_coverage,
)
from advlab.models.dcgan import Generator
from advlab.models.lenet import LeNet
from advlab.runs.checkpoint import load_checkpoint
from advlab.runs.engine import CHECKPOINT, LOCK
from advlab.runs.files import atomic_write

if TYPE_CHECKING:
    from advlab.gan.config import GanConfig

STACKED_SAMPLES = 26_000  # the protocol's count (VEEGAN, PacGAN)
# The fewest generated images the metrics are computed from: the Fréchet distance fits a
# Gaussian to the evaluator's 128 features, whose covariance is singular below 129 images
# (one image has none: LinAlgError); 200 keeps it full rank with a margin.
MIN_EVAL_SAMPLES = 200


def check_samples(n: int, option: str = "eval samples") -> None:
    """One line for a count of generated images too small for the metrics."""
    if n < MIN_EVAL_SAMPLES:
        raise AdvlabError(
            f"{option} must be at least {MIN_EVAL_SAMPLES}, got {n}: the Fréchet distance estimates the covariance "
            "of 128 evaluator features, which fewer images leave singular"
        )


def _device_of(module: torch.nn.Module) -> torch.device:
    """Where a network's weights are (the CPU for one without any)."""
    return next(module.parameters(), torch.empty(0)).device


@torch.no_grad()
def generate(
    generator: Generator, n: int, seed: int, batch_size: int = 1000
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """n images (on the CPU); for a conditional generator, classes 0..9 in turn (so exactly
    balanced). z is drawn on the CPU wherever G is, so a device changes no sample's noise."""
    generator.eval()
    device = _device_of(generator)
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % generator.num_classes if generator.num_classes else None
    images = []
    for i in range(0, n, batch_size):
        z = torch.randn(min(batch_size, n - i), generator.z_dim, generator=g)
        y = labels[i : i + len(z)].to(device) if labels is not None else None
        images.append(generator(z.to(device), y).cpu())
    generator.train()
    return torch.cat(images), labels


@torch.no_grad()
def _outputs(evaluator: LeNet, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    device = _device_of(evaluator)
    features = batched(evaluator.features, images, device=device)
    return features, torch.softmax(evaluator.head(features.to(device)), dim=1).cpu()


def real_reference(data_dir: str | None, evaluator: LeNet, n: int = 10000, dataset: str = "mnist") -> dict:
    """Features of the data set's test images, and the floor: FID of n training images against them."""
    domain = load_domain(dataset, data_dir, quiet=True)
    test_features, test_probs = _outputs(evaluator, to_unit_range(domain.test.x[:n]))
    train_features, _ = _outputs(evaluator, to_unit_range(domain.train.x[:n]))
    return {
        "test_features": test_features,
        "fid_floor": frechet_distance_of(train_features, test_features),
        "inception_score_real": inception_score(test_probs),
    }


def why_no_metrics(dataset: str, g_args: dict, evaluator: dict | None = None) -> str | None:
    """Why a GAN cannot be scored, or None. Its evaluator is a classifier of the data it
    learned (see gan/evaluator.py); G must make images of that data's channels and classes.
    Stacked-MNIST is read channel by channel by the MNIST evaluator (its protocol)."""
    if dataset == "stacked_mnist":
        return (
            None
            if g_args.get("channels") == 3
            else f"a Stacked-MNIST G makes 3-channel images, this one {g_args.get('channels')}"
        )
    if evaluator is None:
        return None
    if g_args.get("channels", 1) != evaluator.get("channels", 1):
        reads = evaluator.get("channels", 1)
        return f"this G makes {g_args.get('channels')}-channel images and the evaluator of {dataset} reads {reads}"
    if g_args.get("num_classes", 0) not in (0, evaluator.get("num_classes", 10)):
        return f"this G draws {g_args.get('num_classes')} classes and {dataset} has {evaluator.get('num_classes', 10)}"
    return None


def unscorable(generator: Generator, dataset: str, data_dir: str | None, quiet: bool = False) -> str | None:
    """why_no_metrics for this G, with its data set's evaluator (trained first if need be;
    Stacked-MNIST's protocol uses MNIST's, built when it is scored)."""
    evaluator = None if dataset == "stacked_mnist" else build_evaluator(data_dir, quiet=quiet, dataset=dataset)
    return why_no_metrics(dataset, generator.constructor_args(), evaluator)


def evaluate_stacked(
    generator: Generator,
    data_dir: str | None = None,
    n: int = STACKED_SAMPLES,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> dict:
    """Stacked-MNIST mode coverage (VEEGAN / PacGAN protocol): n samples, each channel read by
    the MNIST LeNet; the modes (digit triples) hit at least once, and the KL divergence of the
    mode histogram from uniform. The protocol draws 26,000 samples."""
    evaluator = load_evaluator(data_dir, quiet=True, device=device)
    images, _ = generate(generator, n, seed)
    digits = torch.stack([_outputs(evaluator, images[:, c : c + 1])[1].argmax(1) for c in range(3)], dim=1)
    return mode_coverage(digits @ torch.tensor([100, 10, 1]), MODES) | {"eval_samples": n}


def evaluate_run(
    generator: Generator,
    dataset: str,
    data_dir: str | None,
    n: int,
    seed: int,
    fingerprint: str | None = None,
    device: str | torch.device = "cpu",
) -> dict:
    """The metrics that fit what the GAN learned: Stacked-MNIST's modes, or the metrics of its
    data set's own evaluator (trained on demand, with progress). `device`: where the
    evaluator runs (G is wherever it is); the statistics are computed on the CPU."""
    check_samples(n)
    if dataset == "stacked_mnist":
        return evaluate_stacked(generator, data_dir, n, seed, device)
    return evaluate_generator(generator, data_dir, n, seed, dataset=dataset, fingerprint=fingerprint, device=device)


def evaluate_generator(
    generator: Generator,
    data_dir: str | None = None,
    n: int = 10000,
    seed: int = 0,
    dataset: str = "mnist",
    fingerprint: str | None = None,
    device: str | torch.device = "cpu",
) -> dict:
    evaluator = load_evaluator(data_dir, quiet=True, dataset=dataset, fingerprint=fingerprint, device=device)
    reference = real_reference(data_dir, evaluator, n, dataset)
    images, labels = generate(generator, n, seed)
    features, probs = _outputs(evaluator, images)
    predicted = probs.argmax(1)
    k = evaluator.num_classes
    return {
        "cond_acc": conditional_accuracy(predicted, labels) if labels is not None else None,
        "fid_lenet": frechet_distance_of(features, reference["test_features"]),
        "fid_floor": reference["fid_floor"],
        "coverage": coverage(predicted, k),
        "kl_uniform": kl_from_uniform(predicted, k),
        "inception_score": inception_score(probs),
        "inception_score_real": reference["inception_score_real"],
        "eval_samples": n,
        "evaluator_test_acc": evaluator.test_acc,
    }


@contextmanager
def holding_run(run_dir: Path) -> Iterator[None]:
    """The run's lock (runs/engine.py's) held while `gan eval` reads and rewrites it, so that
    no resume starts meanwhile; a run whose lock a training process holds is refused."""
    lock = run_dir / LOCK
    if not lock.is_file():  # a run from before the lock, or not a run at all
        yield
        return
    with open(lock, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AdvlabError(
                f"{run_dir} is training right now (an advlab process holds its lock); let it finish, then evaluate it"
            ) from None
        yield


def finished_generator(run_dir: Path) -> tuple[Generator, GanConfig]:
    """load_generator for a finished run only: summary.json written and the checkpoint at the
    configured last epoch. Metrics of a run still training, stopped or killed would describe
    an unfinished G and land in a summary.json (or none) that its resume replaces."""
    from advlab.gan.train import load_generator  # gan.train imports this module

    finish = f"finish it with --resume (advlab gan --config {run_dir / 'config.yaml'} --resume)"
    if (run_dir / "config.yaml").is_file() and not (run_dir / CHECKPOINT).is_file():
        raise AdvlabError(f"{run_dir} is not finished (no epoch done yet); {finish}")
    g, cfg = load_generator(run_dir)  # refuses anything but an advlab gan run
    done = int(load_checkpoint(run_dir / CHECKPOINT)["epoch"])
    if done < cfg.epochs:
        raise AdvlabError(f"{run_dir} is not finished ({done} of {cfg.epochs} epochs done); {finish}")
    if not (run_dir / "summary.json").is_file():
        raise AdvlabError(f"{run_dir} is not finished (no summary.json: stopped before its end); {finish}")
    return g, cfg


def read_summary(run_dir: Path) -> dict:
    path = run_dir / "summary.json"
    try:
        summary = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        summary = None
    if not isinstance(summary, dict):
        raise AdvlabError(f"{path} is not a JSON object; the run's summary is damaged")
    return summary


def add_metrics(run_dir: Path, summary: dict, metrics: dict) -> None:
    """summary.json with the metrics' keys added or updated and every other key as the run
    wrote it; `no_metrics` (why the run had none) goes, now that it has them. Atomic."""
    kept = {k: v for k, v in summary.items() if k != "no_metrics"}
    atomic_write(run_dir / "summary.json", json.dumps(kept | metrics, indent=2) + "\n")
