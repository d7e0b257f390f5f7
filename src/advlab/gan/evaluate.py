"""Quality of a generator, measured with the cached LeNet evaluator (no download)."""

from __future__ import annotations

import torch

from advlab.data.domains import load_domain
from advlab.data.stacked import MODES
from advlab.gan.evaluator import load_evaluator, to_unit_range
from advlab.metrics.accuracy import batched
from advlab.metrics.generative import conditional_accuracy, coverage, frechet_distance_of, inception_score, kl_from_uniform, mode_coverage
from advlab.models.dcgan import Generator
from advlab.models.lenet import LeNet

STACKED_SAMPLES = 26_000  # the protocol's count (VEEGAN, PacGAN)


@torch.no_grad()
def generate(generator: Generator, n: int, seed: int, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor | None]:
    """n images; for a conditional generator, classes 0..9 in turn (so exactly balanced)."""
    generator.eval()
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % generator.num_classes if generator.num_classes else None
    images = []
    for i in range(0, n, batch_size):
        z = torch.randn(min(batch_size, n - i), generator.z_dim, generator=g)
        images.append(generator(z, labels[i : i + len(z)] if labels is not None else None))
    generator.train()
    return torch.cat(images), labels


@torch.no_grad()
def _outputs(evaluator: LeNet, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    features = batched(evaluator.features, images)
    return features, torch.softmax(evaluator.head(features), dim=1)


def real_reference(data_dir: str | None, evaluator: LeNet, n: int = 10000) -> dict:
    """Features of the MNIST test set, and the floor: FID of n training images against it."""
    mnist = load_domain("mnist", data_dir, quiet=True)
    test_features, test_probs = _outputs(evaluator, to_unit_range(mnist.test.x[:n]))
    train_features, _ = _outputs(evaluator, to_unit_range(mnist.train.x[:n]))
    return {
        "test_features": test_features,
        "fid_floor": frechet_distance_of(train_features, test_features),
        "inception_score_real": inception_score(test_probs),
    }


def why_no_metrics(dataset: str, g_args: dict) -> str | None:
    """Why a GAN cannot be scored, or None. The evaluator is a LeNet trained on MNIST digits:
    its numbers mean something only for a generator of 28×28 grey ten-class digits learned
    from MNIST, or of Stacked-MNIST's three digits (read channel by channel); on other data
    it would score confidently and wrongly."""
    if dataset == "stacked_mnist":
        return None if g_args.get("channels") == 3 else f"a Stacked-MNIST G makes 3-channel images, this one {g_args.get('channels')}"
    if dataset != "mnist":
        return f"the quality metrics use a LeNet trained on MNIST digits, and this GAN learned {dataset}"
    if g_args.get("channels", 1) != 1 or g_args.get("num_classes", 10) not in (0, 10):
        return f"the quality metrics read grey ten-class digits, and this G makes {g_args.get('channels')}-channel images of {g_args.get('num_classes')} classes"
    return None


def evaluate_stacked(generator: Generator, data_dir: str | None = None, n: int = STACKED_SAMPLES, seed: int = 0) -> dict:
    """Stacked-MNIST mode coverage (VEEGAN / PacGAN protocol): n samples, each channel read by
    the MNIST LeNet; the modes (digit triples) hit at least once, and the KL divergence of the
    mode histogram from uniform. The protocol draws 26,000 samples."""
    evaluator = load_evaluator(data_dir, quiet=True)
    images, _ = generate(generator, n, seed)
    digits = torch.stack([_outputs(evaluator, images[:, c : c + 1])[1].argmax(1) for c in range(3)], dim=1)
    return mode_coverage(digits @ torch.tensor([100, 10, 1]), MODES) | {"eval_samples": n}


def evaluate_run(generator: Generator, dataset: str, data_dir: str | None, n: int, seed: int) -> dict:
    """The metrics that fit what the GAN learned (see why_no_metrics for what has none)."""
    if dataset == "stacked_mnist":
        return evaluate_stacked(generator, data_dir, n, seed)
    return evaluate_generator(generator, data_dir, n, seed)


def evaluate_generator(generator: Generator, data_dir: str | None = None, n: int = 10000, seed: int = 0, reference: dict | None = None) -> dict:
    evaluator = load_evaluator(data_dir, quiet=True)
    reference = reference or real_reference(data_dir, evaluator, n)
    images, labels = generate(generator, n, seed)
    features, probs = _outputs(evaluator, images)
    predicted = probs.argmax(1)
    return {
        "cond_acc": conditional_accuracy(predicted, labels) if labels is not None else None,
        "fid_lenet": frechet_distance_of(features, reference["test_features"]),
        "fid_floor": reference["fid_floor"],
        "coverage": coverage(predicted, 10),
        "kl_uniform": kl_from_uniform(predicted, 10),
        "inception_score": inception_score(probs),
        "inception_score_real": reference["inception_score_real"],
        "eval_samples": n,
    }
