"""`advlab gan` options: a plain dataclass, kept apart from the training code so that
reading or validating a configuration loads no model, plotting or metric code."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from advlab.config import check, file_values, load_yaml, option, shown
from advlab.gan.losses import LOSSES
from advlab.gan.variants import D_CONDITIONINGS, DEFAULT_MISMATCH, VARIANTS, Variant  # noqa: F401 (DEFAULT_MISMATCH re-exported)
from advlab.runs.hardware import PRECISIONS, device_problem


@dataclass
class GanConfig:
    variant: str = option(
        "conditional",
        "a registered variant: " + "; ".join(f"{v.name} ({v.about})" for v in VARIANTS.values()),
        tuple(VARIANTS),
    )
    loss: str | None = option(None, "GAN loss, ns (non-saturating) or hinge (default: the variant's)", LOSSES)
    d_conditioning: str | None = option(
        None, "how D sees y: channels, projection or none (default: the variant's)", D_CONDITIONINGS
    )
    pack: int | None = option(
        None, "D judges PACK samples at a time, stacked as channels (PacGAN; default: the variant's)"
    )
    spectral_norm: bool | None = option(None, "spectral normalisation of D's layers (default: the variant's)")
    dataset: str = option(
        "mnist",
        "training images: mnist, mnist_m, stacked_mnist (three MNIST digits as RGB, 1000 modes), an image folder "
        "or an .npz (as in advlab adapt)",
    )
    data_dir: str | None = option(None, "where built-in data sets live (else $ADVLAB_DATA, else ~/.cache/advlab/data)")
    epochs: int = option(5, "passes over the training images")
    train_subset: int | None = option(None, "use only the first N training images (quick runs)")
    batch_size: int = option(64, "real images per step")
    z_dim: int = option(100, "size of the noise vector z")
    g_width: int = option(32, "G's channels at 14x14 (2x that at 7x7)")
    d_width: int = option(24, "D's channels at 14x14 (2x that at 7x7)")
    lr: float = option(2e-4, "Adam learning rate of G and D")
    mismatch: float | None = option(
        None,
        "weight of the matching-aware D term, real images under a wrong label count as fake (default: the variant's, "
        f"{DEFAULT_MISMATCH} for conditional, else 0)",
    )
    ema: float = option(
        0.999, "decay of the moving average of G's weights that draws the samples and metrics (0: G itself)"
    )
    beta1: float = option(0.5, "Adam beta1")
    beta2: float = option(0.999, "Adam beta2")
    grid_columns: int = option(8, "columns (fixed z vectors) of the z x y grid")
    eval_samples: int = option(10000, "generated images for the quality metrics (0: skip them)")
    seed: int = option(0, "seed for initialisation, batch order and noise")
    threads: int | None = option(None, "CPU threads (default: all cores)")
    device: str = option("cpu", "cpu, cuda, or auto (cuda when available) for training and the metrics' evaluator")
    precision: str = option(
        "fp32",
        "fp32, bf16 (autocast) or auto (bf16 on CUDA and on CPUs with avx512_bf16/amx_bf16, else fp32)",
        PRECISIONS,
    )
    out: str | None = option(None, "run directory (default runs/gan-<variant>-s<seed>)")

    def validate(self) -> None:
        check(self.variant in VARIANTS, f"unknown variant {shown(self.variant)}; choose from {', '.join(VARIANTS)}")
        check(0 <= self.seed < 2**32, f"seed must be in [0, 2**32), got {self.seed}")
        check(self.epochs > 0, f"epochs must be > 0, got {self.epochs}")
        check(self.batch_size > 0, f"batch size must be > 0, got {self.batch_size}")
        check(self.lr > 0 and math.isfinite(self.lr), f"learning rate must be > 0 and finite, got {self.lr}")
        check(0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "Adam betas must be in [0, 1)")
        check(self.z_dim > 0 and self.g_width > 0 and self.d_width > 0, "z dim and widths must be > 0")
        check(self.grid_columns > 0, f"grid columns must be > 0, got {self.grid_columns}")
        check(
            self.mismatch is None or (self.mismatch >= 0 and math.isfinite(self.mismatch)),
            f"mismatch weight must be >= 0, got {self.mismatch}",
        )
        for problem in self.spec.problems():
            check(False, problem)
        check(
            self.batch_size % self.spec.pack == 0,
            f"batch size {self.batch_size} must be a multiple of pack {self.spec.pack}",
        )
        check(0 <= self.ema < 1, f"ema decay must be in [0, 1), got {self.ema}")
        from advlab.gan.evaluate import MIN_EVAL_SAMPLES  # here, not at the top: evaluate imports the models

        check(
            self.eval_samples == 0 or self.eval_samples >= MIN_EVAL_SAMPLES,
            f"eval samples must be 0 (no metrics) or at least {MIN_EVAL_SAMPLES}, got {self.eval_samples}",
        )
        check(self.train_subset is None or self.train_subset > 0, f"train subset must be > 0, got {self.train_subset}")
        check(self.threads is None or self.threads > 0, f"threads must be > 0, got {self.threads}")
        problem = device_problem(self.device)
        check(problem is None, problem or "")
        check(
            self.precision in PRECISIONS,
            f"precision must be one of {', '.join(PRECISIONS)}, got {shown(self.precision)}",
        )

    @property
    def spec(self) -> Variant:
        """The variant with this run's own choices applied: what the loop trains."""
        spec = VARIANTS[self.variant].with_options(
            loss=self.loss,
            d_conditioning=self.d_conditioning,
            pack=self.pack,
            spectral_norm=self.spectral_norm,
            mismatch=self.mismatch,
        )
        if self.mismatch is None and not spec.d_sees_label:  # the variant's own weight needs the D it was chosen for
            spec = spec.with_options(mismatch=0.0)
        return spec

    def run_dir(self) -> Path:
        return Path(self.out or f"runs/gan-{self.variant}-s{self.seed}")


def recorded_options(path: str | Path) -> dict:
    """A run's config.yaml as typed option values."""
    return file_values(GanConfig, load_yaml(path), path)
