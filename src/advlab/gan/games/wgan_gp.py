"""WGAN-GP: the Wasserstein game with a gradient penalty (Gulrajani et al. 2017).

D is a critic with no sigmoid: it scores real images high and G's low, and the gap between
the two means estimates the Wasserstein-1 distance between the data and G's images, if the
critic is 1-Lipschitz. That is asked for softly: on random points between a real and a
generated image, the norm of the critic's gradient is pulled to 1 (weight 10, the paper's
lambda). Because the penalty is per image, the critic must not mix images through batch
norm (the paper drops it; advlab refuses it). The critic is trained 5 steps per G step,
and Adam runs at the paper's lr 1e-4, betas (0, 0.9) (its Algorithm 1's defaults).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from advlab.gan.games.base import COLLAPSE_WINDOW, Game

# What a critic's gap can be while the penalty holds it 1-Lipschitz: at most the Wasserstein-1
# distance between two distributions of images in [-1, 1]^n, which is at most the diameter of
# that cube, 2 sqrt(n) (56 for 28 x 28 grey). Measured (benchmarks/results/gan_games.md, MNIST,
# 5 epochs, seeds 0-2): WGAN-GP's gap peaks at 17-19 in its first 250 iterations and falls to
# 3-7; without the penalty it passes 100 by iteration 100 and ends in the hundreds.


class WassersteinGP(Game):
    name = "wgan_gp"
    about = "WGAN-GP (Gulrajani et al. 2017): a critic without sigmoid or batch norm, a gradient penalty"
    n_critic = 5
    adam = (1e-4, 0.0, 0.9)
    d_batch_norm = False
    gradient_penalty = 10.0
    score = "critic"

    def real_term(self, logits: torch.Tensor) -> torch.Tensor:
        return -logits.mean()

    def fake_term(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.mean()

    def generator_term(self, logits: torch.Tensor) -> torch.Tensor:
        return -logits.mean()

    def penalty(
        self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor, noise: torch.Generator
    ) -> torch.Tensor | None:
        """penalty_weight * E[(|grad D(x_hat)| - 1)^2] at x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1]
        per image (drawn from the step's generator: the same on every device). With a packed
        D (PacGAN), the norm is over each packed input, the unit D scores."""
        if not self.penalty_weight:
            return None
        eps = torch.rand(len(real), 1, 1, 1, generator=noise).to(real.device, real.dtype)
        between = (eps * real + (1 - eps) * fake).requires_grad_(True)
        scores = d(between, y)
        (grad,) = torch.autograd.grad(scores.sum(), between, create_graph=True)
        norms = grad.reshape(len(scores), -1).norm(2, dim=1)
        return self.penalty_weight * ((norms - 1) ** 2).mean()

    def scores(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The critic's mean raw scores: no sigmoid, any sign."""
        return d_real.mean(), d_fake.mean()

    def collapse(self, recent: Sequence[Sequence[float]], inputs: int) -> str | None:
        """The critic's loss is unbounded and negative, so D's loss says nothing alone; the
        gap between its scores of real and generated images does. While the penalty holds
        the critic 1-Lipschitz, the gap estimates a Wasserstein-1 distance, which for images
        of `inputs` values in [-1, 1] cannot exceed 2 sqrt(inputs); a gap above that for
        COLLAPSE_WINDOW iterations means the penalty has lost its hold and the game is no
        longer played (G's images are told apart at ease). A G that learns slowly under a
        Lipschitz critic keeps a smaller gap, and this rule cannot tell it from a slow start."""
        if len(recent) < COLLAPSE_WINDOW:
            return None
        bound = 2 * math.sqrt(inputs)
        if min(row[2] - row[3] for row in recent[-COLLAPSE_WINDOW:]) > bound:
            return (
                f"the critic's gap D(x) - D(G(z)) stayed above {bound:.0f} for {COLLAPSE_WINDOW} iterations, more than "
                "any 1-Lipschitz critic can reach on these images: the gradient penalty has lost its hold (raise "
                "--gp-weight); G is likely failing or collapsed"
            )
        return None
