"""DIRT-T (Shu, Bui, Narui & Ermon, ICLR 2018): decision-boundary iterative refinement,
from a finished run (--init, usually `vada`), on the target alone.

The source is dropped: the model keeps its boundaries away from the target's dense regions
(the conditional entropy of its target predictions and VAT on target images, weight
lambda_t) while staying near a teacher (beta times KL(teacher || student) on the same
target batch). The teacher is a frozen copy of the weights, replaced every K steps by the
exponential moving average of the student (paper eq. 14; a sequence of natural-gradient-like
steps, each a small move from the last). Defaults from the authors' code (RuiShu/dirt-t,
run_dirtt.py): lambda_t 1e-2, beta 1e-2, K 5000 (`--dirt 5000`), Adam 1e-3 constant, the EMA
(0.998) evaluated and the teacher's source; the VAT radius as in `vada`; the teacher asked in
evaluation mode, and batch norm's running statistics updated by the clean target pass alone
(the VAT passes keep them: advlab.nn.batchnorm). Without a weight
average (--ema-decay 0) the teacher is refreshed from the student itself.
"""

from __future__ import annotations

import copy
import math

import torch

from advlab.backbones import Backbone
from advlab.config import check, option
from advlab.methods.base import Batch, Method, Needs, StepInfo, check_weights
from advlab.methods.vada import default_radius
from advlab.nn.batchnorm import running_stats_kept
from advlab.nn.vat import conditional_entropy, kl_from_logits, vat_loss


class DIRTT(Method):
    name = "dirtt"
    about = (
        "refinement on the target from a finished run (usually vada): entropy + VAT near a teacher (Shu et al. 2018)"
    )
    needs = Needs(source=False, target=True)
    needs_init = True
    options = {
        "dirtt_target_weight": (float, option(1e-2, "dirtt: lambda_t, weight of the conditional entropy + VAT")),
        "dirtt_teacher_weight": (float, option(1e-2, "dirtt: beta, weight of KL(teacher || student)")),
        "dirtt_refresh": (int, option(5000, "dirtt: steps between refreshes of the teacher from the weight average")),
        "dirtt_radius": (
            float | None,
            option(None, "dirtt: VAT radius on the normalised input (default: vada's, 3.5 x sqrt(input size / 3072))"),
        ),
    }
    defaults = {"optimizer": "adam", "lr": 1e-3, "lr_schedule": "constant", "ema_decay": 0.998}
    search_space = {"lr": ("float", 1e-4, 1e-2, True), "dirtt_target_weight": [1e-2, 1e-1]}

    def __init__(self, model: Backbone, cfg):
        super().__init__(model, cfg)
        self._teacher: Backbone | None = None

    @classmethod
    def check(cls, cfg) -> None:
        if cfg.method != cls.name:
            return
        check_weights(cfg, "dirtt_target_weight", "dirtt_teacher_weight")
        check(cfg.dirtt_refresh > 0, f"dirtt refresh must be > 0, got {cfg.dirtt_refresh}")
        check(
            cfg.dirtt_radius is None or (cfg.dirtt_radius > 0 and math.isfinite(cfg.dirtt_radius)),
            f"dirtt radius must be > 0 and finite, got {cfg.dirtt_radius}",
        )

    @property
    def teacher(self) -> Backbone:
        """A frozen copy of the weights, made at first use: the --init run's model on the run's device."""
        if self._teacher is None:
            self._teacher = copy.deepcopy(self.model).requires_grad_(False)
        return self._teacher

    @property
    def radius(self) -> float:
        return self.cfg.dirtt_radius if self.cfg.dirtt_radius is not None else default_radius(self.model)

    def views(self, batch: Batch, generator: torch.Generator) -> Batch:
        shape = (self.model.input_channels, self.model.input_size, self.model.input_size)
        batch.draws = {"vat_target": torch.randn(len(batch.xt), *shape, generator=generator)}
        return batch

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.classifier(self.model.features(x))

    def loss(self, batch: Batch, info: StepInfo):
        cfg, xt = self.cfg, self.model.input(batch.xt)
        logits = self.predict(xt)  # the pass whose batch statistics the running ones follow
        ent = conditional_entropy(logits)
        with running_stats_kept(self.model):
            vat = vat_loss(self.predict, xt, logits, self.radius, batch.draws["vat_target"])
        teacher = self.teacher.eval()  # as the authors' (phase=False): running statistics, no dropout or noise
        with torch.no_grad():
            taught = teacher.classifier(teacher.features(teacher.input(batch.xt)))
        kl = kl_from_logits(taught, logits)
        total = cfg.dirtt_target_weight * (ent + vat) + cfg.dirtt_teacher_weight * kl
        return total, {"ent": ent, "vat_t": vat, "kl_teacher": kl}

    def after_step(self, step: int) -> None:
        super().after_step(step)
        if (step + 1) % self.cfg.dirtt_refresh == 0:
            source = self.average.model if self.average is not None else self.model
            self.teacher.load_state_dict(source.state_dict())

    def state_dict(self):
        return {"teacher": self.teacher.state_dict()}

    def load_state_dict(self, state) -> None:
        if "teacher" in state:
            self.teacher.load_state_dict(state["teacher"])
