"""advlab from Python: train an adaptation run and use its model without the command line.

    import advlab
    summary = advlab.adapt(source="mnist", target={"x_train": x, "y_train": y, "x_test": xt, "y_test": yt},
                           method="dann", epochs=12, out="runs/mine")
    model = advlab.load("runs/mine")
    labels, probs = model.predict(images)      # uint8 arrays or tensors, any size: class indices
    names = [model.classes[i] for i in labels]  # the run's class names
    model.evaluate("my_other_domain.npz")       # accuracy, per class, confusion
    model.export("onnx", "mine.onnx")

`adapt` takes every option of `advlab adapt` as a keyword, resolves them as the command line
does (each method's own defaults included) and writes the same run directory, so resume,
`advlab select`, `predict` and the report work on it. A domain is a built-in name, a path (an
image folder with train/ and test/, or an .npz) or a mapping of numpy arrays or tensors with
the .npz's keys (x_train, y_train, x_test, y_test; uint8 images; optionally `classes`, one
name per class): such a mapping is written once, by content, to advlab's cache
(`data/arrays/<sha256>.npz`), which the run's config.yaml then names, so that a resume finds
the same images.

`backbone=` is a registered name, a `Backbone` subclass (registered here, as
`advlab.backbones.register` does) or an instance of one: its class is registered, its
`constructor_args()` give the run's normalisation and the backbone's options, and its current
weights are the run's initial weights. A checkpoint records only the class's name and
`constructor_args()`, so these must rebuild the network; `advlab.load` of such a run needs the
class registered again (or its package installed, entry-point group `advlab.backbones`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from advlab.config import resolve
from advlab.data.domains import cache_root
from advlab.data.folder import as_nchw
from advlab.data.images import to_size
from advlab.errors import AdvlabError
from advlab.metrics.accuracy import batched

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
CLASSES = "classes"  # the optional names, one per class index


def _as_array(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def domain_spec(domain: str | os.PathLike | Mapping[str, Any]) -> str:
    """What a run's config takes for a domain: names and paths as they are; arrays written to
    the cache by content (the same arrays, the same file)."""
    if isinstance(domain, (str, os.PathLike)):
        return str(domain)
    if not isinstance(domain, Mapping) or set(NPZ_KEYS) - set(domain):
        raise AdvlabError(f"a domain is a name, a path, or a mapping with {', '.join(NPZ_KEYS)}")
    keys = (*NPZ_KEYS, CLASSES) if CLASSES in domain else NPZ_KEYS
    arrays = {k: np.ascontiguousarray(_as_array(domain[k])) for k in keys}
    digest = hashlib.sha256()
    for k in keys:
        digest.update(f"{k}{arrays[k].dtype}{arrays[k].shape}".encode())
        digest.update(arrays[k].tobytes())
    path = cache_root() / "data" / "arrays" / f"{digest.hexdigest()[:32]}.npz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        with open(partial, "wb") as f:
            np.savez(f, **arrays)
        os.replace(partial, path)
    return str(path)


def adapt(
    source: str | os.PathLike | Mapping[str, Any] = "mnist",
    target: str | os.PathLike | Mapping[str, Any] = "mnist_m",
    resume: bool = False,
    quiet: bool = True,
    **options: Any,
) -> dict[str, Any]:
    """Train an `advlab adapt` run (every CLI option a keyword; `backbone` also a class or an
    instance, see above) and return its summary."""
    from advlab.train.adapt import run_adapt
    from advlab.train.config import adapt_config

    options, initial = given_backbone(options)
    cfg = resolve(adapt_config(), {"source": domain_spec(source), "target": domain_spec(target), **options})
    return run_adapt(cfg, resume=resume, quiet=quiet, initial=initial)


def given_backbone(options: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The options with `backbone` as a registered name, and the network whose weights the run
    starts from (None: the backbone's own initialisation). A class or an instance is registered."""
    from advlab.backbones import Backbone, register

    given = options.get("backbone")
    if isinstance(given, type):
        return {**options, "backbone": register(given).name}, None
    if isinstance(given, torch.nn.Module) and not isinstance(given, Backbone):
        raise AdvlabError(f"backbone= must be a name, a Backbone subclass or an instance of one, got {type(given)}")
    if not isinstance(given, Backbone):
        return options, None
    register(type(given))
    if options.get("init") is not None:
        raise AdvlabError("backbone= an instance already gives the initial weights; leave out init")
    own = {k: v for k, v in given.constructor_args().items() if k == "normalization" or k in given.options}
    for k, v in own.items():
        if k in options and options[k] != v:
            raise AdvlabError(f"{k}={options[k]!r} is not the backbone instance's own {k} {v!r}; leave it out")
    return {**options, **own, "backbone": given.name}, given


class Model:
    """A finished run's evaluated network, with the run's own preprocessing. `classes`: the
    run's class names, one per class index (its data's, else "0".."N-1")."""

    def __init__(self, run_dir: str | Path, checkpoint: str = "reported", device: str = "cpu"):
        from advlab.predict import load_model

        self.run_dir, self.device = Path(run_dir), torch.device(device)
        run = load_model(self.run_dir, checkpoint)
        self.module, self.config, self.classes = run.model, run.config, run.classes
        self.module.to(self.device).eval()

    def prepare(self, images: Any) -> torch.Tensor:
        """uint8 images, (N, H, W), (N, C, H, W) or (N, H, W, C), any size -> the backbone's input."""
        x = _as_array(images)
        if x.dtype != np.uint8:
            raise AdvlabError(f"images must be uint8 (0..255), got {x.dtype}")
        from advlab.predict import to_channels

        m = self.module
        x = to_channels(torch.from_numpy(np.ascontiguousarray(as_nchw(x, "images"))), m.input_channels)
        return to_size(x, m.input_size, self.config.geometry)

    @torch.no_grad()
    def predict(self, images: Any) -> tuple[np.ndarray, np.ndarray]:
        """(class index per image, class probabilities per image) as numpy arrays: integers, so
        that they index the probabilities and compare with labels; `self.classes[label]` names one."""
        probs = torch.softmax(batched(self.module, self.prepare(images), device=self.device), dim=1)
        return probs.argmax(1).numpy(), probs.numpy()

    def evaluate(self, domain: str | os.PathLike | Mapping[str, Any], split: str = "test") -> dict[str, Any]:
        from advlab.evaluate import evaluate

        return evaluate(self.run_dir, domain_spec(domain), split, device=self.device)

    def export(self, fmt: str, out: str | Path) -> dict[str, Any]:
        from advlab.export import export

        return export(self.run_dir, fmt, out)


def load(run_dir: str | Path, checkpoint: str = "reported", device: str = "cpu") -> Model:
    """The model a finished `advlab adapt` run reports."""
    return Model(run_dir, checkpoint, device)
