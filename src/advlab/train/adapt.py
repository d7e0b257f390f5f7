"""`advlab adapt`: one training loop for every domain-adaptation method and backbone.

The loop owns time: data, batches, schedules, evaluation, checkpoints and the run
directory. The method (advlab.methods) owns what differs: its heads, optimizers, step,
views of the batch, what happens after a step and which weights are the result.
Target test labels are only ever used to *report* accuracy, never to choose anything.

`run_adapt` reads top to bottom: `start` builds a `Trainer` (the run's whole state, fresh
or from its checkpoint), whose named steps `begin_epoch`, `step` and `end_epoch` the epoch
loop calls, and `finish` writes the summary.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from advlab.backbones import BACKBONES, Backbone
from advlab.config import to_yaml
from advlab.data.augment import augment
from advlab.errors import AdvlabError
from advlab.methods import METHODS, Batch, Method, StepInfo
from advlab.metrics.accuracy import accuracy, batched, domain_accuracy, per_class_accuracy
from advlab.runs.checkpoint import load_checkpoint, save_checkpoint
from advlab.runs.distributed import World, join, leave, mean_over_ranks
from advlab.runs.ema import WeightAverage
from advlab.runs.engine import (
    CHECKPOINT,
    NonFiniteLoss,
    check_identity,
    check_resume,
    diverged,
    identity,
    open_run,
    run_epochs,
    set_threads,
)
from advlab.runs.hardware import autocast, resolve_device, resolve_precision
from advlab.runs.rundir import MutedRun, RunDir
from advlab.runs.sampling import MODEL_STREAM, VIEWS_STREAM, IndexStream, step_seed
from advlab.train.data import Data, check_classes, prepare_data, training_images_said
from advlab.train.restore import build_model, load_run_state, run_config, upgrade_legacy
from advlab.train.schedules import learning_rate, reversal_factor
from advlab.train.validation import VALIDATORS, Probe, check_degeneracy, make_probe, score_validators

if TYPE_CHECKING:
    from advlab.train.config import AdaptConfig

__all__ = ["prepare_data", "run_adapt"]


def run_adapt(
    cfg: AdaptConfig,
    resume: bool = False,
    quiet: bool = False,
    initial: Backbone | None = None,
    after_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any] | None:
    """Train, evaluate each epoch, checkpoint, and return the summary (also in summary.json).
    `initial`: a network whose weights the run starts from (advlab.adapt's backbone instance).
    `after_epoch(record)`: called with each epoch's record once its checkpoint is written;
    what it raises stops the run there, resumable like a killed one (advlab tune's pruner)."""
    trainer = start(cfg, resume, quiet, initial)
    trainer.after_epoch = after_epoch
    run_epochs(
        trainer.start_epoch,
        cfg.epochs,
        trainer.steps,
        trainer.step,
        trainer.end_epoch,
        trainer.quiet,
        begin=trainer.begin_epoch,
        images_per_step=trainer.images_per_step,
    )
    if not trainer.world.main:
        leave()  # waits at the barrier until rank 0 has written the summary: the ranks leave together
        return None
    summary = finish(trainer)
    # A rank that tore its process group down while rank 0 (which hosts the group's store)
    # still worked died at exit now and then ("terminate called without an active
    # exception", SIGABRT; seen under load on resumed runs), failing the whole job.
    leave()
    return summary


@dataclass
class Epoch:
    """What one epoch accumulates for its record: the steps' running sums and the schedules' values."""

    sums: dict[str, float] = field(default_factory=dict)
    images: int = 0
    lr: float = 0.0
    lam: float = 0.0
    pool: tuple[torch.Tensor, torch.Tensor] | None = None  # the method's target images and their labels


@dataclass
class Trainer:
    """The state of one run and the named steps of its loop."""

    cfg: AdaptConfig
    quiet: bool
    device: torch.device
    precision: str
    world: World
    run: RunDir | MutedRun
    data: Data
    method: Method
    optimizers: dict[str, torch.optim.Optimizer]
    base_lrs: dict[str, list[float]]  # each group's configured rate, which the schedule scales
    identity: dict[str, Any]
    history: list[dict[str, Any]]
    start_epoch: int
    steps: int = 0
    streams: dict[str, IndexStream] = field(default_factory=dict)
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)  # the training images on the device
    probe: Probe | None = None
    epoch: Epoch = field(default_factory=Epoch)
    # a run that starts from trained weights (--init, a given network): their source validation
    # accuracy before the first step, the best "earlier" epoch the guard compares against, so a
    # refinement that loses the source task it started with is flagged (a SHOT run fell from
    # 0.99 to 0.53 in six epochs)
    start_source_val_acc: float | None = None
    after_epoch: Callable[[dict[str, Any]], None] | None = None  # see run_adapt

    @property
    def needs(self):
        return self.method.needs

    @property
    def total_steps(self) -> int:
        return self.cfg.epochs * self.steps

    @property
    def images_per_step(self) -> int:
        return self.cfg.batch_size * (self.needs.source + self.needs.target)

    # --- the loop's steps ---

    def begin_epoch(self, epoch: int) -> None:
        self.method.begin_epoch(epoch, self.data.target_train.x, self.device)
        self.epoch = Epoch()
        pool = self.method.target_pool()
        if pool is not None:  # the method's own selection of target images, with the labels it gave them
            self.streams["target"] = IndexStream(len(pool[0]), self.cfg.batch_size, self.cfg.seed * 2 + 2)
            self.epoch.pool = (self.tensors["target_x"][pool[0].to(self.device)], pool[1].to(self.device))

    def step(self, epoch: int, i: int) -> dict[str, str] | None:
        cfg, now = self.cfg, self.epoch
        global_step = epoch * self.steps + i
        torch.manual_seed(step_seed(cfg.seed, global_step, MODEL_STREAM))  # dropout, noise: alike after a resume
        lam = self.schedules(global_step / self.total_steps)
        batch = self.draw_batch(global_step)
        views = torch.Generator().manual_seed(step_seed(cfg.seed, global_step, VIEWS_STREAM))
        batch = self.method.views(batch, views).shard(self.world.rank, self.world.size)
        try:
            with autocast(self.precision, self.device):  # the training step only: evaluation stays fp32
                parts = self.method.train_step(
                    batch, StepInfo(lam, epoch, global_step / self.total_steps), self.optimizers
                )
        except NonFiniteLoss as e:
            where = f"epoch {epoch + 1}, step {i + 1} (lr {now.lr:.3g}, lambda {lam:.3g})"
            raise diverged(e, where, self.run, epoch) from None
        self.method.after_step(global_step)
        for name, value in parts.items():
            now.sums[name] = now.sums.get(name, 0.0) + mean_over_ranks(value).item()
        now.images += self.images_per_step
        return {k: f"{v / (i + 1):.3f}" for k, v in now.sums.items()} if i % 20 == 0 else None

    def end_epoch(self, epoch: int, seconds: float) -> None:
        if not self.world.main:
            return  # rank 0 evaluates and writes; the others go on to the next epoch
        record = self.record(epoch, seconds)
        self.history.append(record)
        state = self.checkpoint(epoch + 1)
        if self.cfg.select != "last" and is_best(record, self.history, VALIDATORS.get(self.cfg.select)):
            save_checkpoint(state, self.run.file("best.pt"))
        save_checkpoint(state, self.run.file(CHECKPOINT))
        self.run.append_jsonl("metrics.jsonl", record)
        print(epoch_line(record, self.cfg.epochs, self.method.console(record)), flush=True)
        if record["degenerate"]:
            print(f"warning: epoch {record['epoch']} looks degenerate: {record['degenerate']}", flush=True)
        if self.after_epoch is not None:
            self.after_epoch(record)

    # --- the parts of a step and of an epoch's end ---

    def schedules(self, p: float) -> float:
        """Set each optimizer's learning rate for progress p in [0, 1); the reversal factor lambda(p)."""
        cfg = self.cfg
        for name, optimizer in self.optimizers.items():
            for group, base in zip(optimizer.param_groups, self.base_lrs[name]):
                group["lr"] = learning_rate(cfg.lr_schedule, p, base, cfg.lr_alpha, cfg.lr_beta)
        self.epoch.lr = learning_rate(cfg.lr_schedule, p, cfg.lr, cfg.lr_alpha, cfg.lr_beta)
        self.epoch.lam = reversal_factor(cfg.lambda_schedule, p, cfg.gamma, cfg.lambda_max)
        return self.epoch.lam

    def draw_batch(self, global_step: int) -> Batch:
        """The step's global batch, alike on every rank: source images (augmented by --augment)
        with labels, target images (from the method's pool with its labels, if it has one);
        target labels only for a method that trains on them (and then augmented too)."""
        cfg, t, needs, pool = self.cfg, self.tensors, self.needs, self.epoch.pool
        si = self.streams["source"].indices(global_step).to(self.device) if needs.source else None
        ti = self.streams["target"].indices(global_step).to(self.device) if needs.target else None
        xs = augment(t["source_x"][si], cfg.augment, cfg.seed, global_step) if si is not None else None
        xt = t["target_x"][ti] if ti is not None and pool is None else None
        if needs.target_labels:
            xt = augment(xt, cfg.augment, cfg.seed, global_step)
        batch = Batch(
            xs, t["source_y"][si] if si is not None else None, xt, t["target_y"][ti] if needs.target_labels else None
        )
        if pool is not None:
            batch.xt, batch.pt = pool[0][ti], pool[1][ti]
        return batch

    def record(self, epoch: int, seconds: float) -> dict[str, Any]:
        """The epoch's line of metrics.jsonl: losses, accuracies, validators, degeneracy; and
        `evaluation_seconds`, what all of that cost beside the epoch's training (the
        validators' share of it is `validation_seconds`)."""
        started = time.perf_counter()
        now, method, data = self.epoch, self.method, self.data
        record = {
            "epoch": epoch + 1,
            "lr": now.lr,
            "lambda": now.lam,
            **{f"loss_{k}": v / self.steps for k, v in now.sums.items()},
            **evaluate(method, data, self.device),
            "train_seconds": seconds,
            "train_images": now.images,
            "images_per_second": now.images / seconds,
            **method.epoch_record(epoch, LabelAudit(data.target_train.y)),
        }
        model = method.eval_model()
        training = method.model.training
        method.model.eval()
        model.eval()
        if self.probe is not None:
            record |= score_validators(model, self.probe, self.device, self.cfg.seed)
        earlier = [h["source_val_acc"] for h in self.history if h.get("source_val_acc") is not None]
        record["degenerate"] = check_degeneracy(
            model,
            self.probe,
            self.device,
            data.num_classes,
            record.get("source_val_acc"),
            max(earlier, default=None),
            self.start_source_val_acc,
        )
        method.model.train(training)
        record["evaluation_seconds"] = time.perf_counter() - started
        return record

    def checkpoint(self, epochs_done: int) -> dict[str, Any]:
        """Everything a resume needs, what rebuilds the model without the config (the evaluated
        weights as `eval_model` where they are not the trained ones), the class names (what
        predict and evaluate say; a checkpoint from before them reads as "0".."N-1"), and the
        identity of the run that wrote it (what a resume or --init checks it against)."""
        method = self.method
        state = {
            "method": method.name,
            "identity": self.identity,
            "backbone": method.model.name,
            "model_args": method.model.constructor_args(),
            "model": method.model.state_dict(),
            "heads": method.heads.state_dict(),
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "method_state": method.state_dict(),
            "epoch": epochs_done,
            "history": self.history,
            "classes": list(self.data.classes),
            "classes_given": self.data.classes_given,
            "start_source_val_acc": self.start_source_val_acc,
        }
        if method.average is not None:
            state["average"] = method.average.model.state_dict()
        if method.eval_model() is not method.model:
            state["eval_model"] = method.eval_model().state_dict()
        return state


def start(cfg: AdaptConfig, resume: bool, quiet: bool, initial: Backbone | None = None) -> Trainer:
    """The run's state before its first step to come: checks, data, model, method,
    optimizers, and on --resume everything its checkpoint holds."""
    set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    world = join(device)  # one process, or this one's place in a torchrun job
    if world.size > 1:
        refuse_over_processes(cfg, world)
        quiet = quiet or not world.main
    check_classes(cfg)  # before open_run: a run refused for its classes leaves no file (prepare_data checks again)
    # only rank 0 keeps the record; the others read a checkpoint to resume from and write nothing
    run = open_run(cfg.run_dir(), resume, "metrics.jsonl", "adapt") if world.main else MutedRun(cfg.run_dir())

    data = prepare_data(cfg, quiet)
    torch.manual_seed(cfg.seed)
    model = BACKBONES[cfg.backbone].from_config(cfg, data.num_classes)
    method = METHODS[cfg.method](model, cfg)  # its heads draw their initial weights right after the backbone's
    if cfg.init:
        load_initial_weights(cfg, model, data.fingerprints)
    if initial is not None:
        load_given_weights(model, initial)
    model.to(device)
    method.heads.to(device)
    if cfg.ema_decay:
        method.average = WeightAverage(model, cfg.ema_decay)
    optimizers = method.optimizers(lambda params: make_optimizer(cfg, params))
    trainer = Trainer(
        cfg,
        quiet,
        device,
        precision,
        world,
        run,
        data,
        method,
        optimizers,
        {name: [group["lr"] for group in opt.param_groups] for name, opt in optimizers.items()},
        identity(cfg.recorded(), data.fingerprints),
        history=[],
        start_epoch=0,
    )
    if world.main:
        for caveat in method.caveats():
            print(f"warning: {caveat}", flush=True)
    if cfg.init or initial is not None:
        trainer.start_source_val_acc = evaluate(method, data, device, test_sets=False).get("source_val_acc")
    if resume:
        restore(trainer)
    run.write_text("config.yaml", to_yaml(cfg.recorded()))
    prepare_batches(trainer)
    return trainer


def refuse_over_processes(cfg: AdaptConfig, world: World) -> None:
    """What cannot be split across the processes of a torchrun job."""
    method, backbone = METHODS[cfg.method], BACKBONES[cfg.backbone]
    if method.batch_statistic:
        raise AdvlabError(
            f"{cfg.method}'s loss is a statistic of the whole batch ({method.batch_statistic}); "
            f"split over {world.size} processes it would be another loss: run it in one process"
        )
    if backbone.batch_statistic:
        raise AdvlabError(
            f"backbone {cfg.backbone} normalises by the whole batch ({backbone.batch_statistic}); "
            f"split over {world.size} processes it would be another network: run it in one process"
        )
    if cfg.batch_size % world.size:
        raise AdvlabError(
            f"batch size {cfg.batch_size} must be a multiple of the {world.size} processes that share each batch"
        )


def restore(trainer: Trainer) -> None:
    """--resume: the run's checkpoint, if it has one, after checking that it is this run's."""
    cfg, run, method = trainer.cfg, trainer.run, trainer.method
    last_ckpt = run.file(CHECKPOINT)
    if not last_ckpt.exists():
        if not trainer.quiet:
            print(f"nothing to resume in {run.path} yet (no checkpoint): starting from the first epoch")
        return
    state = upgrade_legacy(load_checkpoint(last_ckpt), cfg.method)
    if "model" not in state or "history" not in state:
        raise AdvlabError(f"{last_ckpt} is not an advlab adapt checkpoint")
    if state.get("method", cfg.method) != cfg.method:
        raise AdvlabError(f"{run.path} holds a {state['method']} run; --resume cannot continue it as {cfg.method}")
    saved = run_config(run.path) if run.file("config.yaml").exists() else None
    # a checkpoint from before identities: the data are compared by name, in config.yaml
    by_content = ("source", "target") if "identity" in state else ()
    check_resume(run, saved, cfg, int(state["epoch"]), by_content)
    if by_content:
        check_identity(run, state["identity"], trainer.identity, {k: getattr(cfg, k) for k in by_content})
    try:
        method.model.load_state_dict(state["model"])
        method.heads.load_state_dict(state["heads"])
        for name, optimizer in trainer.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        if method.average is not None:
            method.average.model.load_state_dict(state["average"])
    except (RuntimeError, ValueError, KeyError):
        raise AdvlabError(
            f"{last_ckpt} does not fit this run's networks (another run's checkpoint?); "
            "start a new run with another --out"
        ) from None
    method.load_state_dict(state.get("method_state", {}))
    trainer.start_epoch = int(state["epoch"])
    trainer.history = list(state["history"])
    trainer.start_source_val_acc = state.get("start_source_val_acc", trainer.start_source_val_acc)
    run.rewrite_jsonl("metrics.jsonl", trainer.history)  # drops lines of an epoch that never reached its checkpoint
    if not trainer.quiet:
        print(f"resuming {run.path} after epoch {trainer.start_epoch}")


def prepare_batches(trainer: Trainer) -> None:
    """The epoch's length, the seeded index streams, the training images on the device and
    the validators' fixed probe."""
    cfg, data, needs = trainer.cfg, trainer.data, trainer.needs
    driver = data.source_train if needs.source else data.target_train
    trainer.steps = len(driver) // cfg.batch_size
    if trainer.steps == 0:
        raise AdvlabError(
            f"batch size {cfg.batch_size} is larger than the {len(driver)} training images an epoch walks through "
            f"({training_images_said(cfg, needs.source)})"
        )
    trainer.streams = {
        "source": IndexStream(len(data.source_train), cfg.batch_size, cfg.seed * 2 + 1),
        "target": IndexStream(len(data.target_train), cfg.batch_size, cfg.seed * 2 + 2),
    }
    device = trainer.device
    trainer.tensors = {
        "source_x": data.source_train.x.to(device),
        "source_y": data.source_train.y.to(device),
        "target_x": data.target_train.x.to(device),
        "target_y": data.target_train.y.to(device),
    }
    if cfg.validation_size:
        trainer.probe = make_probe(
            data.target_train.x,
            data.source_train.x,
            data.source_val.x,
            data.source_val.y,
            cfg.validation_size,
            cfg.seed,
        )
    if cfg.select == "class_ami" and len(trainer.probe.target) <= data.num_classes:
        raise AdvlabError(
            f"select class_ami needs more than {data.num_classes} validation images (k-means makes one cluster per "
            f"class); the target has {len(trainer.probe.target)} for --validation-size {cfg.validation_size}"
        )


def finish(trainer: Trainer) -> dict[str, Any]:
    """summary.json: the reported epoch (the last, or the one --select picked) and the run's facts."""
    cfg, history, method = trainer.cfg, trainer.history, trainer.method
    chosen = history[-1] if cfg.select == "last" else selected(history, VALIDATORS.get(cfg.select))
    degenerate_epochs = [h["epoch"] for h in history if h.get("degenerate")]
    train_seconds = sum(h["train_seconds"] for h in history)
    images_seen = sum(h["train_images"] for h in history)
    summary = {
        "method": cfg.method,
        "backbone": cfg.backbone,
        "source": cfg.source,
        "target": cfg.target,
        "seed": cfg.seed,
        "epochs": cfg.epochs,
        "selected_epoch": chosen["epoch"],
        "selected_by": cfg.select,
        "source_acc": chosen["source_acc"],
        "target_acc": chosen["target_acc"],
        "domain_acc": chosen["domain_acc"],
        "source_val_acc": chosen.get("source_val_acc"),
        "target_per_class": chosen["target_per_class"],
        "classes": list(trainer.data.classes),
        "degenerate": chosen.get("degenerate"),
        "degenerate_epochs": degenerate_epochs,
        "init": cfg.init,
        "start_source_val_acc": trainer.start_source_val_acc,
        "caveats": method.caveats(),
        "evaluated": "weight average" if method.average is not None else "trained weights",
        **method.summary(history),
        "seconds": train_seconds,
        "evaluation_seconds": sum(h.get("evaluation_seconds", 0.0) for h in history),
        "train_images_per_second": images_seen / train_seconds if train_seconds else None,
        "device": str(trainer.device),
        "precision": trainer.precision,
        "processes": trainer.world.size,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
    }
    trainer.run.write_json("summary.json", summary)
    if chosen.get("degenerate"):
        print(f"warning: the reported checkpoint (epoch {chosen['epoch']}) is degenerate: {chosen['degenerate']}")
    elif degenerate_epochs:
        print(f"warning: epochs {', '.join(map(str, degenerate_epochs))} looked degenerate (not the reported one)")
    return summary


@torch.no_grad()
def evaluate(method: Method, data: Data, device: torch.device, test_sets: bool = True) -> dict[str, Any]:
    """Accuracies of the evaluated weights on the test sets (unless not `test_sets`) and
    source validation, one pass of the features per image."""
    model = method.eval_model()
    training = method.model.training
    method.model.eval()
    model.eval()
    method.heads.eval()

    def outputs(images: torch.Tensor) -> torch.Tensor:
        features = model.embed(images)
        logits = model.classifier(features)
        domain = method.domain_logits(features, logits)
        return logits if domain is None else torch.cat([logits, domain.unsqueeze(1)], dim=1)

    out: dict[str, Any] = {}
    if test_sets:
        s_out, t_out = (
            batched(outputs, data.source_test.x, device=device),
            batched(outputs, data.target_test.x, device=device),
        )
        c = data.num_classes
        has_domain = s_out.shape[1] > c
        out |= {
            "source_acc": accuracy(s_out[:, :c], data.source_test.y),
            "target_acc": accuracy(t_out[:, :c], data.target_test.y),
            "domain_acc": domain_accuracy(s_out[:, c], t_out[:, c]) if has_domain else None,
            "target_per_class": per_class_accuracy(t_out[:, :c], data.target_test.y, c),
        }
    if len(data.source_val):
        out["source_val_acc"] = accuracy(batched(model, data.source_val.x, device=device), data.source_val.y)
    method.model.train(training)
    method.heads.train(training)
    return out


def make_optimizer(cfg: AdaptConfig, params) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def load_initial_weights(cfg: AdaptConfig, model: Backbone, fingerprints: dict[str, str]) -> None:
    """The weights `--init` names: the checkpoint that run itself reported (last or best; its
    evaluated weights). It must have learned this run's source and target on the same
    network: the same content, compared by the fingerprints its checkpoint carries (by name
    for a run from before they did)."""
    state, init_cfg = load_run_state(cfg.init, require_finished=True)
    initial = build_model(state, init_cfg.normalization)
    if init_cfg.normalization != cfg.normalization:
        raise AdvlabError(
            f"--init {cfg.init} was trained with {init_cfg.normalization} normalisation, this run uses "
            f"{cfg.normalization}"
        )
    if (initial.name, initial.constructor_args()) != (model.name, model.constructor_args()):
        theirs, ours = (f"{m.name} {m.constructor_args()}" for m in (initial, model))
        raise AdvlabError(
            f"--init {cfg.init} is a {theirs} network, this run's is {ours}: pass the same --backbone and its options"
        )
    learned = state.get("identity", {}).get("data")
    differ = [k for k in ("source", "target") if learned and learned.get(k) != fingerprints[k]]
    if differ:
        raise AdvlabError(
            f"--init {cfg.init} was trained on other {' and '.join(differ)} images than this run's "
            f"{' and '.join(f'--{k} {getattr(cfg, k)!r}' for k in differ)}; pass the data it was trained on "
            "(and its --geometry)"
        )
    if not learned and (init_cfg.source, init_cfg.target) != (cfg.source, cfg.target):
        raise AdvlabError(
            f"--init {cfg.init} was trained on {init_cfg.source} -> {init_cfg.target}, this run is {cfg.source} -> "
            f"{cfg.target}; pass the same --source and --target"
        )
    if initial.num_classes != model.num_classes:
        raise AdvlabError(
            f"--init {cfg.init} has {initial.num_classes} classes, this run's domains have {model.num_classes}"
        )
    model.load_state_dict(initial.state_dict())


def load_given_weights(model: Backbone, given: Backbone) -> None:
    """The weights of the network advlab.adapt was given: it must be the one this run builds
    from its config (its class, classes and options), since that is what its checkpoints rebuild."""
    if (given.name, given.constructor_args()) != (model.name, model.constructor_args()):
        theirs, ours = (f"{m.name} {m.constructor_args()}" for m in (given, model))
        raise AdvlabError(f"the backbone given is a {theirs} network, this run's is {ours}")
    model.load_state_dict(given.state_dict())


class LabelAudit:
    """Scores labels a method gave target images against the held-back target labels, for
    the record only (e.g. how right the pseudo-labels are)."""

    def __init__(self, labels: torch.Tensor):
        self.labels, self.size = labels, len(labels)

    def __call__(self, indices: torch.Tensor, labels: torch.Tensor) -> float:
        return (labels == self.labels[indices]).float().mean().item()


def _eligible(record: dict[str, Any], key: str) -> bool:
    """A checkpoint a validator may pick: scored (finite) and not flagged as degenerate."""
    score = record.get(key)
    return not record.get("degenerate") and isinstance(score, (int, float)) and math.isfinite(score)


def is_best(record: dict[str, Any], history: list[dict[str, Any]], key: str) -> bool:
    """Whether this epoch becomes best.pt: the best eligible so far; while no epoch is
    eligible, each epoch is kept there, so that the run always has a best.pt to report."""
    eligible = [h for h in history if _eligible(h, key)]
    if not eligible:
        return True
    return _eligible(record, key) and record[key] >= max(h[key] for h in eligible)


def selected(history: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The epoch --select reports: the best eligible one (the earliest among equals), else the
    last (its degeneracy is then said in the summary and a warning)."""
    eligible = [h for h in history if _eligible(h, key)]
    return max(eligible, key=lambda h: h[key]) if eligible else history[-1]


def epoch_line(record: dict[str, Any], epochs: int, method_part: str | None = None) -> str:
    """The console's line for an epoch; `method_part` is the method's own (Method.console)."""
    losses = " ".join(f"{k[5:]} {v:.3f}" for k, v in record.items() if k.startswith("loss_"))
    adversarial = record["domain_acc"] is not None
    domain = f" | domain {record['domain_acc']:.3f} | lambda {record['lambda']:.3f}" if adversarial else ""
    if method_part:
        domain = f" | {method_part}"
    evaluation = f" + eval {record['evaluation_seconds']:.1f}s" if "evaluation_seconds" in record else ""
    return (
        f"epoch {record['epoch']:>3}/{epochs} | loss {losses} | source {record['source_acc']:.4f} "
        f"| target {record['target_acc']:.4f}{domain} | lr {record['lr']:.4g} "
        f"| {record['train_seconds']:.1f}s {record['images_per_second']:.0f} img/s{evaluation}"
    )
