"""`advlab evaluate`: a finished adapt run's model scored on any labelled domain (a built-in
name, an image folder with train/ and test/, or an .npz), for example a third domain the run
never saw: accuracy, per-class accuracy and the confusion matrix, on the domain's test split
(or its training split with --split train), brought to the model as the run brought its own
data (its --geometry, the backbone's size and channels). Classes are said by the run's names;
a domain whose data name its classes otherwise than the run's data did is refused, since its
labels would mean other classes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from advlab.data.classes import refuse_other_classes
from advlab.data.domains import load_domain
from advlab.errors import AdvlabError
from advlab.metrics.accuracy import batched
from advlab.predict import load_model

SPLITS = ("test", "train")
MAX_NAMED_TICKS = 20  # more classes than this: the figure's axes keep their indices (names would overlap)
MAX_TICK_NAME = 12  # characters of a name on the figure's axes; longer ones are cut


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
    run = load_model(Path(run_dir), checkpoint)
    model, cfg = run.model, run.config
    data = load_domain(domain, data_dir or cfg.data_dir, cfg.geometry, quiet=True, size=model.input_size)
    images = getattr(data, split)
    if data.num_classes > model.num_classes:
        raise AdvlabError(
            f"{domain} has {data.num_classes} classes and the run's model knows {model.num_classes}: it cannot be "
            "scored there"
        )
    if run.classes_given and data.classes_given:  # a domain of fewer classes names the run's first ones
        refuse_other_classes(run.classes[: data.num_classes], f"run {run_dir}", data.classes, domain)
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
        "classes": list(run.classes),  # the confusion matrix's rows (true) and columns (predicted), in order
        "per_class_accuracy": {
            name: float(counts[c, c] / present[c]) if present[c] else None for c, name in enumerate(run.classes)
        },
        "confusion": counts.tolist(),
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['run']} on {result['domain']} ({result['split']}, {result['images']} images): "
        f"accuracy {result['accuracy']:.4f}",
        "per class: "
        + ", ".join(
            f"{name} {a:.3f}" if a is not None else f"{name} -" for name, a in result["per_class_accuracy"].items()
        ),
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
    ticks = tick_labels(result["classes"])
    ax.set_xticks(range(len(rows)), ticks, rotation=90 if max(map(len, ticks)) > 2 else 0)
    ax.set_yticks(range(len(rows)), ticks)
    fig.colorbar(image, ax=ax, label="share of the true class")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def tick_labels(classes: list[str]) -> list[str]:
    """The figure's axis labels: the class names, cut to MAX_TICK_NAME characters; the indices
    where there are more than MAX_NAMED_TICKS classes, too many to read by name."""
    if len(classes) > MAX_NAMED_TICKS:
        return [str(i) for i in range(len(classes))]
    return [n if len(n) <= MAX_TICK_NAME else n[: MAX_TICK_NAME - 1] + "…" for n in classes]
