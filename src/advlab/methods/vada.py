"""VADA (Shu, Bui, Narui & Ermon, "A DIRT-T Approach to Unsupervised Domain Adaptation",
ICLR 2018): domain-adversarial training plus the cluster assumption on the target.

The loss (paper eq. 8) is the source cross-entropy, plus lambda_d times the domain loss
(here through the reversal layer, the domain term times lambda(p); the authors alternate a
discriminator step and an encoder step, the same saddle point), plus lambda_s times VAT on
source images, plus lambda_t times (the conditional entropy of target predictions + VAT on
target images): the classifier is asked to be confident and locally smooth on the target,
so that its boundaries leave the target's dense regions (advlab.nn.vat).

Defaults are those of the authors' code (RuiShu/dirt-t, run_dirtt.py): lambda_d 1e-2,
lambda_s 1, lambda_t 1e-2; Adam at lr 1e-3, constant; the evaluated weights an exponential
moving average (decay 0.998); source and target through the network as separate batches
(each its own batch-norm statistics), the running statistics evaluation uses updated by the
clean target batch alone (advlab.nn.batchnorm). The VAT radius is theirs, 3.5 for a 32 x 32 x 3 input,
scaled by the square root of the backbone's input size (3.06 for ganin's 3 x 28 x 28); here
it is measured on the model's normalised input. Differences: Adam keeps torch's betas (the
authors use beta1 0.5), and advlab's --augment (invert, by default) still applies to source
images, as for every method (the authors do not augment).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from advlab.config import check, option
from advlab.methods.base import Batch, Method, StepInfo, check_weights
from advlab.nn import scale_grad
from advlab.nn.batchnorm import running_stats_kept
from advlab.nn.heads import DomainDiscriminator, domain_loss
from advlab.nn.vat import conditional_entropy, vat_loss

DISCRIMINATOR_HIDDEN = (100,)  # the authors' discriminator: dense 100, ReLU, dense 1
RADIUS_32x32x3 = 3.5  # RuiShu/dirt-t --radius


def default_radius(model) -> float:
    """The authors' radius for 32 x 32 x 3 inputs, scaled to this backbone's input size."""
    return RADIUS_32x32x3 * math.sqrt(model.input_channels * model.input_size**2 / (3 * 32 * 32))


class VADA(Method):
    name = "vada"
    about = "DANN + conditional entropy + virtual adversarial training on target (Shu et al. 2018)"
    options = {
        "vada_domain_weight": (float, option(1e-2, "vada: lambda_d, weight of the domain-adversarial loss")),
        "vada_source_weight": (float, option(1.0, "vada: lambda_s, weight of VAT on source images")),
        "vada_target_weight": (
            float,
            option(1e-2, "vada: lambda_t, weight of the target's conditional entropy + VAT"),
        ),
        "vada_radius": (
            float | None,
            option(
                None,
                "vada: L2 radius of the virtual adversarial perturbation of each normalised input (default: 3.5, the "
                "authors' for 32 x 32 x 3, times sqrt(input size / 3072))",
            ),
        ),
    }
    # the authors' run: Adam 1e-3, no schedules, EMA weights evaluated (run_dirtt.py, codebase/train.py)
    defaults = {"optimizer": "adam", "lr": 1e-3, "lr_schedule": "constant", "lambda_schedule": "constant"}
    defaults |= {"ema_decay": 0.998}
    # the paper's grid (section 6.1): lambda_d in {0, 1e-2}, lambda_s in {0, 1}, lambda_t in {1e-2, 1e-1};
    # Adam's rate a decade each way of theirs
    search_space = {
        "lr": ("float", 1e-4, 1e-2, True),
        "vada_domain_weight": [0.0, 1e-2],
        "vada_source_weight": [0.0, 1.0],
        "vada_target_weight": [1e-2, 1e-1],
    }

    @classmethod
    def check(cls, cfg) -> None:
        if cfg.method != cls.name:
            return
        check_weights(cfg, "vada_domain_weight", "vada_source_weight", "vada_target_weight")
        check(
            cfg.vada_radius is None or (cfg.vada_radius > 0 and math.isfinite(cfg.vada_radius)),
            f"vada radius must be > 0 and finite, got {cfg.vada_radius}",
        )

    def build_heads(self):
        return {"discriminator": DomainDiscriminator(self.model.feature_dim, DISCRIMINATOR_HIDDEN)}

    @property
    def radius(self) -> float:
        return self.cfg.vada_radius if self.cfg.vada_radius is not None else default_radius(self.model)

    def views(self, batch: Batch, generator: torch.Generator) -> Batch:
        """VAT's random starting directions, one per image, for the whole batch."""
        shape = (self.model.input_channels, self.model.input_size, self.model.input_size)
        batch.draws = {
            "vat_source": torch.randn(len(batch.xs), *shape, generator=generator),
            "vat_target": torch.randn(len(batch.xt), *shape, generator=generator),
        }
        return batch

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the model's normalised input."""
        return self.model.classifier(self.model.features(x))

    def loss(self, batch: Batch, info: StepInfo):
        cfg, m = self.cfg, self.model
        xs, xt = m.input(batch.xs), m.input(batch.xt)
        # apart: each domain its own batch statistics; the running ones, which evaluation uses,
        # follow the clean target batch alone, as the authors' (internal_update on that pass only)
        with running_stats_kept(m):
            fs = m.features(xs)
            ls = m.classifier(fs)
        ft = m.features(xt)
        lt = m.classifier(ft)
        cls = F.cross_entropy(ls, batch.ys)
        domain_logits = self.heads["discriminator"](scale_grad(torch.cat([fs, ft]), -info.lam)).squeeze(1)
        dom = domain_loss(domain_logits, len(xs))
        ent = conditional_entropy(lt)
        zero = cls.new_zeros(())
        with running_stats_kept(m):
            vat_s = (
                vat_loss(self.predict, xs, ls, self.radius, batch.draws["vat_source"])
                if cfg.vada_source_weight
                else zero
            )
            vat_t = (
                vat_loss(self.predict, xt, lt, self.radius, batch.draws["vat_target"])
                if cfg.vada_target_weight
                else zero
            )
        total = (
            cls + cfg.vada_domain_weight * dom + cfg.vada_source_weight * vat_s + cfg.vada_target_weight * (ent + vat_t)
        )
        return total, {"cls": cls, "dom": dom, "ent": ent, "vat_s": vat_s, "vat_t": vat_t}

    def domain_logits(self, features: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        return self.heads["discriminator"](features).squeeze(1)
