"""`advlab gan` options: a plain dataclass, kept apart from the training code so that
reading or validating a configuration loads no model, plotting or metric code."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from advlab.config import check, option

VARIANTS = ("conditional", "unconditional", "no_label_in_d")
DEFAULT_MISMATCH = 2.0


@dataclass
class GanConfig:
    variant: str = option("conditional", "conditional (cDCGAN), unconditional (DCGAN) or no_label_in_d (G sees y, D does not)", VARIANTS)
    dataset: str = option("mnist", "training images: mnist, an image folder or an .npz (as in advlab adapt)")
    data_dir: str | None = option(None, "where built-in data sets live (else $ADVLAB_DATA, else ~/.cache/advlab/data)")
    epochs: int = option(5, "passes over the training images")
    train_subset: int | None = option(None, "use only the first N training images (quick runs)")
    batch_size: int = option(64, "real images per step")
    z_dim: int = option(100, "size of the noise vector z")
    g_width: int = option(32, "G's channels at 14x14 (2x that at 7x7)")
    d_width: int = option(24, "D's channels at 14x14 (2x that at 7x7)")
    lr: float = option(2e-4, "Adam learning rate of G and D")
    mismatch: float | None = option(None, f"weight of the matching-aware D term, real images under a wrong label count as fake (default {DEFAULT_MISMATCH} for conditional, 0 otherwise)")
    ema: float = option(0.999, "decay of the moving average of G's weights that draws the samples and metrics (0: G itself)")
    beta1: float = option(0.5, "Adam beta1")
    beta2: float = option(0.999, "Adam beta2")
    grid_columns: int = option(8, "columns (fixed z vectors) of the z x y grid")
    eval_samples: int = option(10000, "generated images for the quality metrics (0: skip them)")
    seed: int = option(0, "seed for initialisation, batch order and noise")
    threads: int | None = option(None, "CPU threads (default: all cores)")
    out: str | None = option(None, "run directory (default runs/gan-<variant>-s<seed>)")

    def validate(self) -> None:
        check(self.variant in VARIANTS, f"unknown variant {self.variant!r}; choose from {', '.join(VARIANTS)}")
        check(self.epochs > 0, f"epochs must be > 0, got {self.epochs}")
        check(self.batch_size > 0, f"batch size must be > 0, got {self.batch_size}")
        check(self.lr > 0 and math.isfinite(self.lr), f"learning rate must be > 0, got {self.lr}")
        check(0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "Adam betas must be in [0, 1)")
        check(self.z_dim > 0 and self.g_width > 0 and self.d_width > 0, "z dim and widths must be > 0")
        check(self.grid_columns > 0, f"grid columns must be > 0, got {self.grid_columns}")
        check(self.mismatch is None or (self.mismatch >= 0 and math.isfinite(self.mismatch)), f"mismatch weight must be >= 0, got {self.mismatch}")
        check(not self.mismatch or self.d_sees_label, f"a mismatch weight needs a D that sees y (the conditional variant), not {self.variant}")
        check(0 <= self.ema < 1, f"ema decay must be in [0, 1), got {self.ema}")
        check(self.eval_samples >= 0, f"eval samples must be >= 0, got {self.eval_samples}")
        check(self.train_subset is None or self.train_subset > 0, f"train subset must be > 0, got {self.train_subset}")
        check(self.threads is None or self.threads > 0, f"threads must be > 0, got {self.threads}")

    @property
    def g_sees_label(self) -> bool:
        return self.variant != "unconditional"

    @property
    def d_sees_label(self) -> bool:
        return self.variant == "conditional"

    @property
    def mismatch_weight(self) -> float:
        """A D that sees y also learns to call a real image under a wrong label fake (Reed et al.
        2016): without it, D checks y only through G's fakes, and G drifts off-class."""
        if self.mismatch is not None:
            return self.mismatch
        return DEFAULT_MISMATCH if self.d_sees_label else 0.0

    def run_dir(self) -> Path:
        return Path(self.out or f"runs/gan-{self.variant}-s{self.seed}")
