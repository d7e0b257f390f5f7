"""`advlab gan` options: a plain dataclass, kept apart from the training code so that
reading or validating a configuration loads no model, plotting or metric code."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

from advlab.config import check, file_values, load_yaml, option, shown
from advlab.gan.games import GAMES, Game
from advlab.gan.variants import D_CONDITIONINGS, DEFAULT_MISMATCH, VARIANTS, Variant  # noqa: F401 (DEFAULT_MISMATCH re-exported)
from advlab.runs.options import RunOptions

GAMES_SAID = "; ".join(f"{g.name}: {g.about}" for g in GAMES.values())


@dataclass
class GanConfig(RunOptions):
    variant: str = option(
        "conditional",
        "a registered variant: " + "; ".join(f"{v.name} ({v.about})" for v in VARIANTS.values()),
        tuple(VARIANTS),
    )
    loss: str | None = option(None, f"the game (default: the variant's): {GAMES_SAID}", tuple(GAMES))
    n_critic: int | None = option(None, "D steps per G step, each on its own batch (default: the game's; wgan_gp 5)")
    gp_weight: float | None = option(
        None, "weight of the gradient penalty of a game that has one (default: the game's; wgan_gp 10)"
    )
    d_conditioning: str | None = option(
        None, "how D sees y: channels, projection or none (default: the variant's)", D_CONDITIONINGS
    )
    pack: int | None = option(
        None, "D judges PACK samples at a time, stacked as channels (PacGAN; default: the variant's)"
    )
    spectral_norm: bool | None = option(None, "spectral normalisation of D's layers (default: the variant's)")
    d_batch_norm: bool | None = option(
        None, "batch norm in D's second layer (default: the variant's; never with spectral norm, which replaces it)"
    )
    dataset: str = option(
        "mnist",
        "training images: mnist, mnist_m, stacked_mnist (three MNIST digits as RGB, 1000 modes), an image folder "
        "or an .npz (as in advlab adapt)",
    )
    epochs: int = option(5, "passes over the training images")
    train_subset: int | None = option(None, "use only the first N training images (quick runs)")
    batch_size: int = option(64, "real images per step")
    z_dim: int = option(100, "size of the noise vector z")
    g_width: int = option(32, "G's channels at 14x14 (2x that at 7x7)")
    d_width: int = option(24, "D's channels at 14x14 (2x that at 7x7)")
    lr: float | None = option(None, "Adam learning rate of G and D (default: the game's; 2e-4, wgan_gp 1e-4)")
    mismatch: float | None = option(
        None,
        "weight of the matching-aware D term, real images under a wrong label count as fake (default: the variant's, "
        f"{DEFAULT_MISMATCH} for conditional, else 0)",
    )
    ema: float = option(
        0.999, "decay of the moving average of G's weights that draws the samples and metrics (0: G itself)"
    )
    beta1: float | None = option(None, "Adam beta1 (default: the game's; 0.5, wgan_gp 0)")
    beta2: float | None = option(None, "Adam beta2 (default: the game's; 0.999, wgan_gp 0.9)")
    grid_columns: int = option(8, "columns (fixed z vectors) of the z x y grid")
    eval_samples: int = option(10000, "generated images for the quality metrics (0: skip them)")
    out: str | None = option(None, "run directory (default runs/gan-<variant>-s<seed>)")

    def validate(self) -> None:
        check(self.variant in VARIANTS, f"unknown variant {shown(self.variant)}; choose from {', '.join(VARIANTS)}")
        self.check_run_options()
        check(self.epochs > 0, f"epochs must be > 0, got {self.epochs}")
        check(self.batch_size > 0, f"batch size must be > 0, got {self.batch_size}")
        check(
            self.lr is None or (self.lr > 0 and math.isfinite(self.lr)),
            f"learning rate must be > 0 and finite, got {self.lr}",
        )
        check(all(b is None or 0 <= b < 1 for b in (self.beta1, self.beta2)), "Adam betas must be in [0, 1)")
        check(self.n_critic is None or self.n_critic > 0, f"n critic must be > 0, got {self.n_critic}")
        check(
            self.gp_weight is None or (self.gp_weight >= 0 and math.isfinite(self.gp_weight)),
            f"gp weight must be >= 0 and finite, got {self.gp_weight}",
        )
        check(self.z_dim > 0 and self.g_width > 0 and self.d_width > 0, "z dim and widths must be > 0")
        check(self.grid_columns > 0, f"grid columns must be > 0, got {self.grid_columns}")
        check(
            self.mismatch is None or (self.mismatch >= 0 and math.isfinite(self.mismatch)),
            f"mismatch weight must be >= 0, got {self.mismatch}",
        )
        for problem in self.spec.problems():
            check(False, problem)
        check(
            self.gp_weight is None or GAMES[self.spec.loss].gradient_penalty > 0,
            f"--gp-weight is an option of a game with a gradient penalty (wgan_gp), not of {self.spec.loss}",
        )
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

    @property
    def spec(self) -> Variant:
        """The variant with this run's own choices applied: what the loop trains."""
        spec = VARIANTS[self.variant].with_options(
            loss=self.loss,
            d_conditioning=self.d_conditioning,
            pack=self.pack,
            spectral_norm=self.spectral_norm,
            mismatch=self.mismatch,
            d_batch_norm=self.d_batch_norm,
        )
        if self.mismatch is None and not spec.d_sees_label:  # the variant's own weight needs the D it was chosen for
            spec = spec.with_options(mismatch=0.0)
        return spec

    def game(self) -> Game:
        """The game this run plays, with its penalty weight."""
        return GAMES[self.spec.loss](self.gp_weight)

    def settled(self) -> GanConfig:
        """These options with the game's defaults written in (lr, betas, D steps, penalty
        weight): what a run records in config.yaml and trains with, so that the record
        says the numbers, not "the game's"."""
        game = GAMES[self.spec.loss]
        lr, beta1, beta2 = game.adam
        chosen = {
            "lr": lr if self.lr is None else self.lr,
            "beta1": beta1 if self.beta1 is None else self.beta1,
            "beta2": beta2 if self.beta2 is None else self.beta2,
            "n_critic": game.n_critic if self.n_critic is None else self.n_critic,
        }
        if game.gradient_penalty:
            chosen["gp_weight"] = game.gradient_penalty if self.gp_weight is None else self.gp_weight
        return dataclasses.replace(self, **chosen)

    def run_dir(self) -> Path:
        return Path(self.out or f"runs/gan-{self.variant}-s{self.seed}")


def recorded_options(path: str | Path) -> dict:
    """A run's config.yaml as typed option values."""
    return file_values(GanConfig, load_yaml(path), path)
