"""`advlab evaluate`: a finished adapt run's model scored on any labelled domain (a built-in
name, an image folder with train/ and test/, or an .npz), for example a third domain the run
never saw: accuracy, per-class accuracy and the confusion matrix, on the domain's test split
(or its training split with --split train), brought to the model as the run brought its own
data (its --geometry, the backbone's size and channels)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from advlab.data.domains import load_domain
from advlab.errors import AdvlabError
from advlab.metrics.accuracy import batched
from advlab.predict import load_model

SPLITS = ("test", "train")


def confusion(predicted: torch.Tensor, labels: torch.Tensor, classes: int) -> torch.Tensor:
    """counts[true, predicted]."""
    return torch.bincount(labels * classes + predicted, minlength=classes * classes).view(classes, classes)


def evaluate(
    run_dir: str | Path,
    domain: str,
    split: str = "test",
    checkpoint: str = "reported",
    data_dir: str | None = None,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    if split not in SPLITS:
        raise AdvlabError(f"--split must be test or train, got {split!r}")
    model, cfg = load_model(Path(run_dir), checkpoint)
    data = load_domain(domain, data_dir or cfg.data_dir, cfg.geometry, quiet=True, size=model.input_size)
    images = getattr(data, split)
    if data.num_classes > model.num_classes:
        raise AdvlabError(
            f"{domain} has {data.num_classes} classes and the run's model knows {model.num_classes}: it cannot be "
            "scored there"
        )
    with torch.no_grad():
        predicted = batched(model.to(torch.device(device)), images.x, device=device).argmax(1)
    counts = confusion(predicted, images.y, model.num_classes)
    present = counts.sum(1)
    return {
        "run": str(run_dir),
        "domain": domain,
        "split": split,
        "images": len(images),
        "accuracy": float(counts.trace() / counts.sum()),
        "per_class_accuracy": [float(counts[c, c] / present[c]) if present[c] else None for c in range(len(counts))],
        "confusion": counts.tolist(),
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['run']} on {result['domain']} ({result['split']}, {result['images']} images): "
        f"accuracy {result['accuracy']:.4f}",
        "per class: "
        + ", ".join(f"{c} {a:.3f}" if a is not None else f"{c} -" for c, a in enumerate(result["per_class_accuracy"])),
    ]
    return "\n".join(lines)


def confusion_figure(result: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = torch.tensor(result["confusion"], dtype=torch.float)
    rows = counts / counts.sum(1, keepdim=True).clamp_min(1)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    image = ax.imshow(rows.numpy(), cmap="Blues", vmin=0, vmax=1)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"{result['domain']} ({result['split']}): accuracy {result['accuracy']:.3f}")
    ax.set_xticks(range(len(rows)))
    ax.set_yticks(range(len(rows)))
    fig.colorbar(image, ax=ax, label="share of the true class")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
