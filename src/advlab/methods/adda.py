"""ADDA (Tzeng, Hoffman, Saenko & Darrell, "Adversarial Discriminative Domain Adaptation",
CVPR 2017), in two stages within one run.

1. Source pre-training: G_f and G_y on source labels (`--adda-source-epochs`, by default
   half the epochs; 0 with `--init` from a finished source_only run, whose weights it takes).
   The number is fixed when the run starts and kept in its checkpoints: a run extended by
   `--resume` with more epochs keeps the source encoder it froze.
2. Adaptation: the source encoder is frozen (a copy of G_f at that moment); G_f becomes the
   target encoder, initialised from it. A discriminator learns source (0) against target
   (1) features; the target encoder learns to fool it with the inverted label (its target
   features labelled source), the GAN loss of the paper's eq. 6. G_y is kept as it is.
The discriminator is 768 -> 500 -> 500 -> 1 and both players use Adam with lr 2e-4,
betas (0.5, 0.999), as in the paper's digit experiments (`--adda-lr`); the run's lr
schedule scales it. The model evaluated is the target encoder with G_y, on both domains.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F

from advlab.config import check, option
from advlab.methods.base import LR_SPACE, Batch, Method, StepInfo, update
from advlab.nn.heads import DomainDiscriminator, domain_loss

DISCRIMINATOR_HIDDEN = (500, 500)


class ADDA(Method):
    name = "adda"
    about = (
        "adversarial discriminative DA: source pre-training, then a target encoder against a discriminator "
        "(Tzeng et al. 2017)"
    )
    options = {
        "adda_source_epochs": (
            int | None,
            option(
                None, "adda: epochs of source pre-training before adaptation (default: half the epochs; 0 with --init)"
            ),
        ),
        "adda_lr": (float, option(2e-4, "adda: Adam learning rate of the target encoder and the discriminator")),
    }
    # Tzeng et al. 2017 train the adversarial stage with Adam at 2e-4: a decade each way (lr: source pre-training)
    search_space = {**LR_SPACE, "adda_lr": ("float", 2e-5, 2e-3, True)}

    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        # fixed here, at the run's start; a resume restores the run's own number (load_state_dict)
        self.source_epochs = (
            cfg.adda_source_epochs if cfg.adda_source_epochs is not None else (0 if cfg.init else cfg.epochs // 2)
        )

    @classmethod
    def check(cls, cfg) -> None:
        check(cfg.adda_lr > 0 and math.isfinite(cfg.adda_lr), f"adda lr must be > 0 and finite, got {cfg.adda_lr}")
        if cfg.method != cls.name:
            return
        if cfg.adda_source_epochs is not None:
            check(
                0 <= cfg.adda_source_epochs < cfg.epochs,
                f"adda source epochs must be in [0, epochs), got {cfg.adda_source_epochs}",
            )
            check(
                cfg.adda_source_epochs > 0 or cfg.init is not None,
                "adda without source pre-training needs --init RUN_DIR (a finished source_only run)",
            )
        else:  # by default half the epochs pre-train the source: none at --epochs 1
            check(
                cfg.epochs >= 2 or cfg.init is not None,
                f"adda pre-trains the source for half the epochs (rounded down), none at --epochs {cfg.epochs}: "
                "pass --epochs 2 or more, or --init RUN_DIR (a finished source_only run)",
            )

    def build_heads(self):
        encoder = copy.deepcopy(self.model.features).requires_grad_(False)
        return {
            "source_encoder": encoder,
            "discriminator": DomainDiscriminator(self.model.feature_dim, DISCRIMINATOR_HIDDEN),
        }

    def optimizers(self, make):
        adam = dict(lr=self.cfg.adda_lr, betas=(0.5, 0.999))
        return {
            "model": make(self.model.parameters()),
            "encoder": torch.optim.Adam(self.model.features.parameters(), **adam),
            "discriminator": torch.optim.Adam(self.heads["discriminator"].parameters(), **adam),
        }

    def begin_epoch(self, epoch, target_images, device) -> None:
        if epoch == self.source_epochs:  # stage 2 starts: freeze the source encoder as it is now
            self.heads["source_encoder"].load_state_dict(self.model.features.state_dict())

    def train_step(self, batch: Batch, info: StepInfo, optimizers):
        model, discriminator = self.model, self.heads["discriminator"]
        if info.epoch < self.source_epochs:  # stage 1: a source classifier
            cls = F.cross_entropy(model(batch.xs), batch.ys)
            update(cls, optimizers["model"])
            return {"cls": cls}

        n = len(batch.xs)
        with torch.no_grad():
            source_features = self.heads["source_encoder"](model.input(batch.xs))
        target_features = model.features(model.input(batch.xt))

        # the discriminator tells the frozen source encoder's features from the target encoder's
        dom = domain_loss(discriminator(torch.cat([source_features, target_features.detach()])).squeeze(1), n)
        update(dom, optimizers["discriminator"])

        # the target encoder makes its features pass for source ones (inverted label)
        discriminator.requires_grad_(False)
        fooled = F.binary_cross_entropy_with_logits(
            discriminator(target_features).squeeze(1), torch.zeros(len(target_features), device=target_features.device)
        )
        try:
            update(fooled, optimizers["encoder"])
        finally:
            discriminator.requires_grad_(True)
        return {"dom": dom, "adv": fooled}

    def domain_logits(self, features, logits):
        return self.heads["discriminator"](features).squeeze(1)

    def state_dict(self):
        return {"source_epochs": self.source_epochs}

    def load_state_dict(self, state):
        # a checkpoint from before it was kept: computed from this run's --epochs, as it was then
        self.source_epochs = int(state.get("source_epochs", self.source_epochs))
