"""What an adaptation method is: the batches it needs, its heads, its optimizers, its step.

The trainer (advlab.train.adapt) owns time: batches, schedules, evaluation, checkpoints.
A method owns everything that differs between methods. Most methods only add a loss and
inherit `train_step`; methods with several players (MCD, ADDA) write their own step. Hooks
let a method see its batches through its own views (augmentations, perturbations), act
after each update (a teacher), choose the weights that are evaluated and kept, and add its
own fields to the record, the console and the summary.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from advlab.backbones import Backbone
from advlab.config import check
from advlab.runs.distributed import average_gradients, mean_over_ranks
from advlab.runs.ema import WeightAverage
from advlab.runs.engine import check_finite

Params = Iterable[nn.Parameter]
MakeOptimizer = Callable[[Params], torch.optim.Optimizer]

# A search space for `advlab tune`: option name -> ("float" | "int", low, high, log scale) or a list
# of choices (advlab.tune.space samples it). Ranges that every method shares live here.
SearchSpace = dict[str, tuple[str, float, float, bool] | list]
# the learning rate, log-uniform one decade each way of the default 0.01 (Ganin & Lempitsky's mu_0):
# the 1e-3 .. 1e-1 that UDA benchmarks' grids span (powerful-benchmarker's configs, the EnsV paper's)
LR_SPACE: SearchSpace = {"lr": ("float", 1e-3, 1e-1, True)}
# the weight of an adaptation loss, log-uniform over [0.01, 10], centred on the papers' 1. Wider upwards
# than powerful-benchmarker's ~[1e-6, 1]: its losses are scaled otherwise, and here a weight that makes a
# trial collapse or diverge costs one pruned trial, while below 0.01 a short trial is source-only
TRADE_OFF_RANGE = ("float", 0.01, 10.0, True)


@dataclass(frozen=True)
class Needs:
    """Which batches a step receives. Only `target_only` may have target labels."""

    source: bool = True  # labelled source images
    target: bool = True  # unlabelled target images
    target_labels: bool = False  # the upper bound, never an adaptation result


@dataclass
class Batch:
    xs: torch.Tensor | None  # source images, uint8
    ys: torch.Tensor | None  # source labels
    xt: torch.Tensor | None  # target images, uint8
    yt: torch.Tensor | None  # target labels: only a method whose needs say so receives them
    pt: torch.Tensor | None = None  # pseudo-labels of the target images
    # per-image random tensors a method's `views` drew for its step (VAT's directions): drawn
    # for the whole batch, so they are split with it and do not depend on the number of processes
    draws: dict[str, torch.Tensor] = field(default_factory=dict)

    def shard(self, rank: int, size: int) -> Batch:
        """This rank's 1/size share of every part of the batch (one process: the batch itself)."""
        if size == 1:
            return self

        def part(t: torch.Tensor | None) -> torch.Tensor | None:
            if t is None:
                return None
            n = len(t) // size
            return t[rank * n : (rank + 1) * n]

        return Batch(
            part(self.xs),
            part(self.ys),
            part(self.xt),
            part(self.yt),
            part(self.pt),
            {k: part(v) for k, v in self.draws.items()},
        )


@dataclass(frozen=True)
class StepInfo:
    """What a step may depend on besides its batch (the global step and progress p stay with
    the trainer's schedules until a method needs them)."""

    lam: float  # the adaptation factor lambda(p) of the run's schedule
    epoch: int  # from 0
    progress: float = 0.0  # p in [0, 1): the share of the run's steps done before this one (warm-ups)


class Method:
    """Base class: plain cross-entropy on source, one optimizer over everything.

    Subclasses set `name`, `about` (the --help line), `needs`, and `options` (extra config
    fields, name -> (type, advlab.config.option(...)); they appear as --flags and in
    config.yaml), `search_space` (what `advlab tune` searches; the learning rate alone by default),
    and override what they change.
    """

    name: ClassVar[str]
    about: ClassVar[str]
    needs: ClassVar[Needs] = Needs()
    options: ClassVar[dict[str, tuple[type, Any]]] = {}
    search_space: ClassVar[SearchSpace] = LR_SPACE  # what `advlab tune` searches (see SearchSpace)
    needs_init: ClassVar[bool] = False  # starts from a finished run's weights (--init)
    # the method's own defaults of options every method has (its authors' optimiser, say): they
    # replace advlab's defaults for this method; a YAML file or the command line overrides them
    defaults: ClassVar[dict[str, Any]] = {}
    # the loss is a statistic of the whole batch (MMD, covariances, class confusion, weights
    # normalised over the batch), not a mean over examples: split across processes it would
    # be another loss, so such a method runs in one process only
    batch_statistic: ClassVar[str | None] = None
    average: WeightAverage | None = None  # the run's weight average (--ema-decay), set by the trainer

    def __init__(self, model: Backbone, cfg: Any):
        self.model, self.cfg = model, cfg
        self.heads = nn.ModuleDict(self.build_heads())

    @classmethod
    def check(cls, cfg: Any) -> None:
        """Validate this method's options (raise advlab.errors.ConfigError via config.check)."""

    def build_heads(self) -> dict[str, nn.Module]:
        """Modules the method adds beside the backbone (built right after it, same seed)."""
        return {}

    def optimizers(self, make: MakeOptimizer) -> dict[str, torch.optim.Optimizer]:
        """Named optimizers; `make` builds the run's optimizer (--optimizer, --lr, ...)."""
        return {"model": make([*self.model.parameters(), *self.heads.parameters()])}

    def loss(self, batch: Batch, info: StepInfo) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        raise NotImplementedError

    def train_step(
        self, batch: Batch, info: StepInfo, optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.Tensor]:
        """One update: the loss, checked finite before it touches any weight, then one step."""
        loss, parts = self.loss(batch, info)
        update(loss, optimizers["model"])
        return parts

    def domain_logits(self, features: torch.Tensor, logits: torch.Tensor) -> torch.Tensor | None:
        """The method's domain discriminator on test features (None: it has none)."""
        return None

    # --- hooks around the step ---

    def views(self, batch: Batch, generator: torch.Generator) -> Batch:
        """The batch as this method's step sees it: its augmentations or perturbations of the
        uint8 images, drawn from `generator`. The trainer seeds it from the run's seed and the
        step, and calls this before the batch is split across processes, so the views are the
        same whatever the number of processes and after a resume. Default: the batch as drawn."""
        return batch

    def after_step(self, step: int) -> None:
        """After each update (`step` counts from 0 over the whole run): the run's weight
        average moves; a method with a teacher updates it here too (calling this first)."""
        if self.average is not None:
            self.average.update(step)

    def eval_model(self) -> Backbone:
        """The weights that are evaluated, validated, checkpointed as the run's result and
        exported: the weight average with --ema-decay, else the model as trained. A method
        that keeps a teacher may return it instead."""
        return self.average.model if self.average is not None else self.model

    def caveats(self) -> list[str]:
        """What a user should know before this method trains on this backbone (a setting
        where it was measured to do worse than not adapting, say): each printed as a warning
        when the run starts and kept in summary.json."""
        return []

    def console(self, record: dict[str, Any]) -> str | None:
        """This method's part of the epoch line, after the accuracies (None: the domain
        discriminator's accuracy and lambda, where there is a discriminator)."""
        return None

    # --- state across epochs (pseudo-labels, stages), saved in every checkpoint ---

    def begin_epoch(self, epoch: int, target_images: torch.Tensor, device: torch.device) -> None:
        """Called before each epoch (after a resume too) with the unlabelled target images."""

    def target_pool(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(indices into the target images, their pseudo-labels) to draw target batches
        from, or None to draw from all target images."""
        return None

    def epoch_record(self, epoch: int, audit: Callable[[torch.Tensor, torch.Tensor], float]) -> dict[str, Any]:
        """Extra per-epoch metrics. `audit(indices, labels)` scores labels against the held-back
        target labels, for the record only: nothing the method does may depend on it."""
        return {}

    def summary(self, history: list[dict[str, Any]]) -> dict[str, Any]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def check_weights(cfg: Any, *names: str) -> None:
    """Each named option >= 0 and finite (a loss weight), else a one-line error naming it."""
    for name in names:
        value = getattr(cfg, name)
        check(value >= 0 and math.isfinite(value), f"{name.replace('_', ' ')} must be >= 0 and finite, got {value}")


def update(loss: torch.Tensor, *optimizers: torch.optim.Optimizer) -> None:
    """Descend on `loss` with each optimizer, after checking it is finite (so a NaN never
    reaches a weight and the last checkpoint stays good). Over several processes the loss is
    checked on every rank alike, and the gradients averaged across them (runs/distributed.py)."""
    check_finite(mean_over_ranks(loss))
    for optimizer in optimizers:
        optimizer.zero_grad(set_to_none=True)
    loss.backward()
    average_gradients(optimizers)
    for optimizer in optimizers:
        optimizer.step()


def joint_features(model: Backbone, batch: Batch) -> torch.Tensor:
    """G_f's features of the source batch followed by the target batch. Each domain is
    normalised first: a grey source and a colour target meet as 3-channel floats."""
    return model.features(torch.cat([model.input(batch.xs), model.input(batch.xt)]))
