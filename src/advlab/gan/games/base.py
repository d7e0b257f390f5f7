"""A GAN's game: how D learns to tell real images from G's, how G learns to fool it, how
many D steps each G step gets, and how D's outputs are read in the log.

The game owns both steps (as in Mimicry, where the GAN owns `train_step`): `d_step` and
`g_step` take the players (networks and optimisers) and do the whole update, so a game
whose D loss needs D itself and the images (a gradient penalty) is written like any other.
The trainer only draws batches and noise, calls `n_critic` D steps and one G step, and logs
what they return. A new game is one file with a `Game` subclass plus one line in
`games/__init__.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

COLLAPSE_WINDOW = 200  # iterations a collapse rule looks back over


@dataclass
class Players:
    """What a game plays with: the two networks, their optimisers, the label space, and the
    weight of the matching-aware term (Reed et al. 2016: a real image under a wrong label
    is fake too; 0 for a D blind to y)."""

    g: nn.Module
    d: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    num_classes: int
    mismatch: float = 0.0


@dataclass(frozen=True)
class Round:
    """One D step's outcome: its loss and D's raw outputs on the real and generated batch."""

    loss_d: torch.Tensor
    d_real: torch.Tensor
    d_fake: torch.Tensor


class Game:
    """A loss family and how it is played. Subclasses give the three terms; the defaults
    are those of the DCGAN-style games (one D step per G step, Adam as in DCGAN)."""

    name: ClassVar[str]
    about: ClassVar[str]
    n_critic: ClassVar[int] = 1  # D steps per G step
    adam: ClassVar[tuple[float, float, float]] = (2e-4, 0.5, 0.999)  # lr, beta1, beta2: Radford et al. 2016
    d_batch_norm: ClassVar[bool] = True  # whether D may normalise over the batch
    gradient_penalty: ClassVar[float] = 0.0  # the default weight of a penalty on D's gradients (0: none)
    # what the log's d_x and d_g_z columns are: D's mean probability of "real" (in [0, 1]),
    # or, for a game whose D has no sigmoid (a critic), its mean raw output
    score: ClassVar[str] = "probability"

    def __init__(self, penalty_weight: float | None = None):
        self.penalty_weight = self.gradient_penalty if penalty_weight is None else penalty_weight

    # --- the loss family ---

    def real_term(self, logits: torch.Tensor) -> torch.Tensor:
        """D's loss on outputs it should call real."""
        raise NotImplementedError

    def fake_term(self, logits: torch.Tensor) -> torch.Tensor:
        """D's loss on outputs it should call fake (G's images; real images under a wrong label)."""
        raise NotImplementedError

    def generator_term(self, logits: torch.Tensor) -> torch.Tensor:
        """G's loss on D's outputs for G's images."""
        raise NotImplementedError

    def penalty(
        self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor, noise: torch.Generator
    ) -> torch.Tensor | None:
        """A term of D's loss that needs D and the images themselves (None: none)."""
        return None

    # --- the two steps ---

    def d_step(
        self, p: Players, real: torch.Tensor, y: torch.Tensor, fake: torch.Tensor, noise: torch.Generator
    ) -> Round:
        """One update of D: real images are real, generated ones (detached) fake."""
        fake = fake.detach()
        d_real, d_fake = p.d(real, y), p.d(fake, y)
        loss = self.real_term(d_real) + self.fake_term(d_fake)
        if p.mismatch:  # matching-aware D: a real image under a wrong label is fake too
            shift = torch.randint(1, p.num_classes, y.shape, generator=noise).to(y.device)
            loss = loss + p.mismatch * self.fake_term(p.d(real, (y + shift) % p.num_classes))
        penalty = self.penalty(p.d, real, fake, y, noise)
        if penalty is not None:
            loss = loss + penalty
        p.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        p.opt_d.step()
        return Round(loss, d_real, d_fake)

    def g_step(self, p: Players, fake: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One update of G: make D call its images real. D's weights get no gradient."""
        p.d.requires_grad_(False)
        loss = self.generator_term(p.d(fake, y))
        p.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        p.opt_g.step()
        p.d.requires_grad_(True)
        return loss

    # --- reading the log ---

    def scores(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The log's d_x and d_g_z: D's mean probability of "real" for a game with a sigmoid."""
        return torch.sigmoid(d_real).mean(), torch.sigmoid(d_fake).mean()

    def collapse(self, recent: Sequence[Sequence[float]], inputs: int) -> str | None:
        """A warning when the last COLLAPSE_WINDOW rows (loss_d, loss_g, d_x, d_g_z) show a
        lost game, else None; `inputs` is the number of values D judges at once (channels x
        pixels x pack). Here: D's loss stayed near 0, so D wins outright (these losses are
        >= 0, and near 0 only when D separates every image)."""
        if len(recent) >= COLLAPSE_WINDOW and max(row[0] for row in recent[-COLLAPSE_WINDOW:]) < COLLAPSE_D_LOSS:
            return (
                f"D loss stayed below {COLLAPSE_D_LOSS} for {COLLAPSE_WINDOW} iterations (D wins outright; G is likely "
                "failing or collapsed)"
            )
        return None


COLLAPSE_D_LOSS = 0.01
