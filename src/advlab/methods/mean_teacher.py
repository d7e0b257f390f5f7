"""Self-ensembling (French, Mackiewicz & Fisher, "Self-ensembling for visual domain
adaptation", ICLR 2018): a mean-teacher consistency on target images.

The teacher is an exponential moving average of the student's weights (decay 0.99). Each
target image is seen twice, under two independent weak augmentations (advlab.data.augment.
weak: +-2 px translation, a small random affine map, Gaussian noise): once by the student,
once by the teacher. Where the teacher is confident (its top probability above 0.968), the
student's class probabilities are pulled towards the teacher's (the squared difference,
averaged over classes, then over the batch with the unconfident images counted as 0); a
class-balance term (binary cross-entropy of the student's mean target prediction against
uniform, times the classes and the confident fraction, weight 0.005) keeps the student from
predicting a few classes only. The unsupervised part is weighted 3. The teacher is what is
evaluated and kept: an average that only moves slowly, fed by a student that learns the
source task while agreeing with it on the target.

Defaults are those of the authors' code (Britefury/self-ensemble-visual-domain-adapt,
experiment_domainadapt_meanteacher.py): unsup_weight 3, confidence_thresh 0.96837722,
cls_balance 0.005, teacher_alpha 0.99, Adam lr 1e-3 (constant), source images augmented too,
source and target through the student as separate batches, the teacher in training mode
(its own batch statistics, dropout on). One difference: the teacher is advlab's weight
average (runs/ema.py), whose decay is capped at (1 + t) / (10 + t) in the first steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from advlab.backbones import Backbone
from advlab.config import check, option
from advlab.data.augment import weak
from advlab.methods.base import Batch, Method, StepInfo, check_weights
from advlab.runs.ema import WeightAverage

ROBUST = 1e-6  # the authors' robust binary cross-entropy: log(p + 1e-6)


def consistency(student_probs: torch.Tensor, teacher_probs: torch.Tensor, threshold: float) -> tuple[torch.Tensor, ...]:
    """(the masked squared difference, the confident mask): per image the mean over classes
    of (p_student - p_teacher)^2, kept where the teacher's top probability exceeds
    `threshold`, averaged over the whole batch."""
    mask = (teacher_probs.max(dim=1).values > threshold).to(student_probs.dtype)
    per_image = ((student_probs - teacher_probs) ** 2).mean(dim=1)
    return (per_image * mask).mean(), mask


def class_balance(student_probs: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the batch's mean predicted probability of each class against
    1 / classes, averaged over classes, times the number of classes. Smallest (C times the
    entropy of a 1-in-C coin) when the batch's mean prediction is uniform."""
    c = student_probs.shape[1]
    mean = student_probs.mean(dim=0)
    target = 1.0 / c
    bce = -(target * torch.log(mean + ROBUST) + (1 - target) * torch.log(1 - mean + ROBUST))
    return bce.mean() * c


class MeanTeacher(Method):
    name = "mean_teacher"
    about = "self-ensembling: an EMA teacher's confident target predictions taught to the student (French et al. 2018)"
    options = {
        "mt_teacher_decay": (
            float,
            option(0.99, "mean_teacher: decay of the teacher, an EMA of the student's weights"),
        ),
        "mt_weight": (float, option(3.0, "mean_teacher: weight of the consistency + class-balance terms")),
        "mt_threshold": (
            float,
            option(0.968, "mean_teacher: the teacher's top probability above which an image is taught"),
        ),
        "mt_class_balance": (float, option(0.005, "mean_teacher: weight of the class-balance term")),
    }
    defaults = {"optimizer": "adam", "lr": 1e-3, "lr_schedule": "constant"}
    # the paper's range for the confidence threshold and its weights around the authors' values
    search_space = {
        "lr": ("float", 1e-4, 1e-2, True),
        "mt_weight": ("float", 0.3, 30.0, True),
        "mt_threshold": ("float", 0.8, 0.99, False),
    }

    def __init__(self, model: Backbone, cfg):
        super().__init__(model, cfg)
        self._teacher: WeightAverage | None = None

    @classmethod
    def check(cls, cfg) -> None:
        if cfg.method != cls.name:
            return
        check(0 <= cfg.mt_teacher_decay < 1, f"mt teacher decay must be in [0, 1), got {cfg.mt_teacher_decay}")
        check_weights(cfg, "mt_weight", "mt_class_balance")
        check(0 <= cfg.mt_threshold < 1, f"mt threshold must be in [0, 1), got {cfg.mt_threshold}")
        check(
            not cfg.ema_decay,
            "mean_teacher evaluates its teacher, an average of its own (--mt-teacher-decay); --ema-decay would keep "
            "another that nothing uses",
        )

    @property
    def teacher(self) -> WeightAverage:
        """Made at the first use: after --init's weights and the move to the run's device."""
        if self._teacher is None:
            self._teacher = WeightAverage(self.model, self.cfg.mt_teacher_decay)
        return self._teacher

    def views(self, batch: Batch, generator: torch.Generator) -> Batch:
        """A weak view of each source image, and two independent ones of each target image
        (the student's in `xt`, the teacher's in `draws`)."""
        xs = weak(batch.xs, generator)
        student, teacher = weak(batch.xt, generator), weak(batch.xt, generator)
        return Batch(xs, batch.ys, student, batch.yt, batch.pt, {"teacher_view": teacher})

    def loss(self, batch: Batch, info: StepInfo):
        cfg, m = self.cfg, self.model
        cls = F.cross_entropy(m.classifier(m.embed(batch.xs)), batch.ys)
        student = F.softmax(m.classifier(m.embed(batch.xt)), dim=1)
        teacher_model = self.teacher.model.train()  # as the authors: its own batch statistics
        with torch.no_grad():
            teacher = F.softmax(teacher_model.classifier(teacher_model.embed(batch.draws["teacher_view"])), dim=1)
        teacher_model.eval()
        cons, mask = consistency(student, teacher, cfg.mt_threshold)
        bal = class_balance(student) * mask.mean()
        total = cls + cfg.mt_weight * (cons + cfg.mt_class_balance * bal)
        return total, {"cls": cls, "consistency": cons, "balance": bal, "confident": mask.mean()}

    def after_step(self, step: int) -> None:
        super().after_step(step)
        self.teacher.update(step)

    def eval_model(self) -> Backbone:
        return self.teacher.model

    def state_dict(self):
        return {"teacher": self.teacher.model.state_dict()}

    def load_state_dict(self, state) -> None:
        if "teacher" in state:
            self.teacher.model.load_state_dict(state["teacher"])
