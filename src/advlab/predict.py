"""`advlab predict`: a finished adapt run's model on new images.

Inputs are image files of any size and format Pillow reads, folders of them (searched
recursively, in sorted order, hidden files skipped) and .npz archives (their `x`, `x_test`
and `x_train` arrays, uint8). Each image gets the run's own preprocessing: the run's
--geometry to the backbone's input size, the backbone's channels (decoded as grey for a grey
backbone, as RGB otherwise), and the normalisation inside the model. A file that cannot be
read is named in one line and skipped; the rest are still predicted.

Classes are said by the names the run recorded (an image folder's subfolders, an .npz's
`classes`, a built-in set's digits; "0".."N-1" otherwise and for runs from before names),
with the class index beside them.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from advlab.backbones import Backbone
from advlab.data.classes import index_names
from advlab.data.folder import as_nchw
from advlab.data.images import decode_image, to_size
from advlab.errors import AdvlabError, DataError
from advlab.metrics.accuracy import batched
from advlab.nn.input import LUMA
from advlab.runs.checkpoint import load_checkpoint
from advlab.train.config import AdaptConfig
from advlab.train.restore import build_model, run_config, selected_checkpoint, upgrade_legacy

NPZ_KEYS = ("x", "x_test", "x_train")
CHECKPOINTS = ("reported", "last", "best")


@dataclass
class Inputs:
    names: list[str]
    images: torch.Tensor  # (N, C, size, size) uint8
    failures: list[str]  # one line per input that could not be read


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.parts[len(path.parts) :])
        )
    return [path]


def to_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 (N, C, H, W) images with `channels` channels: grey repeated, colour as its luma
    (the weights the model's input stage and Pillow use)."""
    if x.shape[1] == channels:
        return x
    if channels == 3:
        return x.expand(-1, 3, -1, -1)
    luma = (x.float() * torch.tensor(LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)
    return luma.round().clamp(0, 255).to(torch.uint8)


def read_inputs(paths: list[Path], size: int, channels: int, geometry: str) -> Inputs:
    """Every image the paths hold, brought to the backbone's size and channels."""
    names, images, failures = [], [], []
    mode = "L" if channels == 1 else "RGB"

    def add(name: str, chw: np.ndarray) -> None:
        names.append(name)
        images.append(
            to_size(to_channels(torch.from_numpy(np.ascontiguousarray(chw))[None], channels), size, geometry)[0]
        )

    for path in paths:
        if not path.exists():
            failures.append(f"{path}: not found")
            continue
        for file in _files(path):
            try:
                if file.suffix.lower() == ".npz":
                    with np.load(file, allow_pickle=False) as archive:
                        keys = [k for k in NPZ_KEYS if k in archive]
                        if not keys:
                            raise DataError(f"holds none of {', '.join(NPZ_KEYS)}")
                        for key in keys:
                            x = archive[key]
                            if x.dtype != np.uint8:
                                raise DataError(f"{key} must be uint8 (0..255), got {x.dtype}")
                            for i, chw in enumerate(as_nchw(x, f"{file}:{key}")):
                                add(f"{file}:{key}[{i}]", chw)
                else:
                    hwc = decode_image(file.read_bytes(), str(file), mode)
                    add(str(file), hwc.transpose(2, 0, 1))
            except (DataError, OSError, ValueError) as e:
                said = str(e).splitlines()[0] if str(e) else type(e).__name__
                failures.append(said if str(file) in said else f"{file}: {said}")
    stacked = torch.stack(images) if images else torch.zeros(0, channels, size, size, dtype=torch.uint8)
    return Inputs(names, stacked, failures)


@dataclass
class LoadedRun:
    """A finished run as predict, evaluate, export and the Python API use it."""

    model: Backbone  # in eval mode, with the checkpoint's evaluated weights
    config: AdaptConfig
    classes: tuple[str, ...]  # one name per class index
    classes_given: bool  # named by the run's data, not advlab's defaults (advlab.data.classes)


def load_model(run_dir: Path, checkpoint: str) -> LoadedRun:
    """The run's network with the weights of the chosen checkpoint (its evaluated ones), its
    config and its class names."""
    if not (run_dir / "config.yaml").is_file():
        raise AdvlabError(f"{run_dir} is not an advlab adapt run directory (no config.yaml)")
    cfg = run_config(run_dir)
    path = selected_checkpoint(run_dir, cfg) if checkpoint == "reported" else run_dir / f"{checkpoint}.pt"
    if not path.is_file():
        said = "the run was not made with --select" if checkpoint == "best" else "the run has not finished an epoch"
        raise AdvlabError(f"{path} not found ({said})")
    state = upgrade_legacy(load_checkpoint(path), cfg.method)
    model = build_model(state, cfg.normalization).eval()
    classes = tuple(state.get("classes") or index_names(model.num_classes))  # none recorded before names were
    return LoadedRun(model, cfg, classes, bool(state.get("classes_given")))


def predict(
    run_dir: str | Path,
    paths: list[str | Path],
    top_k: int = 1,
    checkpoint: str = "reported",
    device: torch.device | str = "cpu",
) -> tuple[list[dict], list[str]]:
    """One row per image read (input, class (its name), class_index, confidence, the top-k
    classes' names and their probabilities), and one line per input that could not be read."""
    if checkpoint not in CHECKPOINTS:
        raise AdvlabError(f"--checkpoint must be one of {', '.join(CHECKPOINTS)}, got {checkpoint!r}")
    run = load_model(Path(run_dir), checkpoint)
    model, cfg = run.model, run.config
    if not 1 <= top_k <= model.num_classes:
        raise AdvlabError(f"--top-k must be in 1..{model.num_classes} (the run's classes), got {top_k}")
    inputs = read_inputs([Path(p) for p in paths], model.input_size, model.input_channels, cfg.geometry)
    device = torch.device(device)
    with torch.no_grad():
        probs = (
            torch.softmax(batched(model.to(device), inputs.images, device=device), dim=1) if len(inputs.names) else None
        )
    rows = []
    for i, name in enumerate(inputs.names):
        p, c = probs[i].topk(top_k)
        top = c.tolist()
        rows.append(
            {
                "input": name,
                "class": run.classes[top[0]],
                "class_index": top[0],
                "confidence": float(p[0]),
                "top_classes": [run.classes[v] for v in top],
                "top_probabilities": [float(v) for v in p],
            }
        )
    return rows, inputs.failures


def write_rows(rows: list[dict], out: Path | None) -> None:
    """CSV (the top-k as `;`-joined columns) or JSON lines by the file's suffix; CSV on stdout
    without --out. Both: input, class (the name), class_index, confidence, top_classes (names),
    top_probabilities."""
    if out is not None and out.suffix == ".jsonl":
        out.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["input", "class", "class_index", "confidence", "top_classes", "top_probabilities"])
    for r in rows:
        writer.writerow(
            [
                r["input"],
                r["class"],
                r["class_index"],
                f"{r['confidence']:.6f}",
                ";".join(r["top_classes"]),
                ";".join(f"{v:.6f}" for v in r["top_probabilities"]),
            ]
        )
    if out is None:
        sys.stdout.write(buffer.getvalue())
    else:
        out.write_text(buffer.getvalue())
