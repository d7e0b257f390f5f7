"""Numbers the run directories do not already hold: features of trained models, their
proxy A-distance and t-SNE, and the reading of each run's results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from advlab.backbones import BACKBONES, Backbone
from advlab.data.domains import load_domain
from advlab.metrics.accuracy import batched
from advlab.metrics.domain_distance import proxy_a_distance
from advlab.runs.files import complete_lines
from advlab.train.config import AdaptConfig
from advlab.train.restore import load_run_model


def summary(run_dir: Path) -> dict | None:
    path = run_dir / "summary.json"
    return json.loads(path.read_text()) if path.exists() else None


def history(run_dir: Path) -> list[dict]:
    """A run's epoch records; of a run still training (a partial report), the epochs whose
    line is complete."""
    path = run_dir / "metrics.jsonl"
    return [json.loads(line) for line in complete_lines(path)] if path.exists() else []


class TestImages:
    """The first n source and target test images, loaded once for every model."""

    def __init__(self, cfg: AdaptConfig, n: int, device: str | torch.device = "cpu"):
        self.device = device  # where the models embed them; the PAD and t-SNE run on the CPU
        size = BACKBONES[cfg.backbone].input_size  # as the run saw them
        source = load_domain(cfg.source, cfg.data_dir, cfg.geometry, quiet=True, size=size).test
        target = load_domain(cfg.target, cfg.data_dir, cfg.geometry, quiet=True, size=size).test
        self.source, self.target = source.subset(n), target.subset(n)

    @torch.no_grad()
    def features(self, model: Backbone) -> tuple[torch.Tensor, torch.Tensor]:
        model = model.to(self.device)
        return batched(model.embed, self.source.x, device=self.device), batched(
            model.embed, self.target.x, device=self.device
        )

    @property
    def is_target(self) -> np.ndarray:
        return np.r_[np.zeros(len(self.source)), np.ones(len(self.target))]

    @property
    def labels(self) -> np.ndarray:
        return torch.cat([self.source.y, self.target.y]).numpy()


def domain_distances(run_dirs: list[Path], images: TestImages) -> list[float]:
    """PAD of each run's feature extractor on the same test images."""
    return [proxy_a_distance(*images.features(load_run_model(r)[0]), seed=0) for r in run_dirs]
