"""`advlab adapt`: one training loop for every domain-adaptation method.

The loop owns time: data, batches, schedules, evaluation, checkpoints and the run
directory. The method (advlab.methods) owns what differs: its heads, optimizers and step.
Target test labels are only ever used to *report* accuracy, never to choose anything.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from typing import Any

import torch

from advlab.config import to_yaml
from advlab.data.augment import augment
from advlab.data.domains import Domain, Split, load_domain
from advlab.errors import AdvlabError
from advlab.gan.evaluator import data_fingerprint
from advlab.methods import METHODS, Batch, Method, StepInfo
from advlab.metrics.accuracy import accuracy, batched, domain_accuracy, per_class_accuracy
from advlab.models.ganin import GaninNet
from advlab.runs.checkpoint import load_checkpoint, save_checkpoint
from advlab.runs.distributed import join, leave, mean_over_ranks
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
from advlab.runs.rundir import MutedRun
from advlab.runs.sampling import IndexStream
from advlab.train.config import AdaptConfig
from advlab.train.restore import build_model, load_run_state, run_config, upgrade_legacy
from advlab.train.schedules import learning_rate, reversal_factor
from advlab.train.validation import VALIDATORS, check_degeneracy, make_probe, score_validators

__all__ = ["AdaptConfig", "run_adapt"]


@dataclass
class Data:
    source_train: Split
    source_val: Split
    source_test: Split
    target_train: Split
    target_test: Split
    num_classes: int
    fingerprints: dict[str, str]  # "source" / "target" -> the content key of the domain as loaded


def domain_fingerprint(domain: Domain) -> str:
    """A content key of a domain's images and labels as loaded (after --geometry), training
    and test split. The split, subsets and seed that select from it are options of the run,
    so a run that another run's checkpoint fits reads the same images (whatever their path)."""
    keys = data_fingerprint(domain.train) + data_fingerprint(domain.test)
    return hashlib.sha256(keys.encode()).hexdigest()[:16]


def prepare_data(cfg: AdaptConfig, quiet: bool) -> Data:
    source = load_domain(cfg.source, cfg.data_dir, cfg.geometry, quiet)
    target = load_domain(cfg.target, cfg.data_dir, cfg.geometry, quiet)
    if source.num_classes != target.num_classes:
        raise AdvlabError(
            f"source {source.name} has {source.num_classes} classes but target {target.name} has {target.num_classes}"
        )
    source_train, source_val = split_validation(source, cfg.val_size, cfg.seed)
    return Data(
        source_train.subset(cfg.train_subset),
        source_val,
        source.test.subset(cfg.test_subset),
        target.train.subset(cfg.train_subset),
        target.test.subset(cfg.test_subset),
        source.num_classes,
        {"source": domain_fingerprint(source), "target": domain_fingerprint(target)},
    )


def _training_images_said(cfg: AdaptConfig, from_source: bool) -> str:
    """Where an epoch's image count comes from, for the batch-size error: the validation
    split and --train-subset both shrink it below the data set's size."""
    if not from_source:
        return f"{cfg.target}'s training set" + (f", --train-subset {cfg.train_subset}" if cfg.train_subset else "")
    said = f"{cfg.source}'s training set less the {cfg.val_size} held out by --val-size"
    return said + (f", then --train-subset {cfg.train_subset}" if cfg.train_subset else "")


def split_validation(domain: Domain, size: int, seed: int) -> tuple[Split, Split]:
    """Hold out `size` source training images, chosen by a seeded permutation."""
    if size >= len(domain.train):
        raise AdvlabError(f"val size {size} leaves no training images in {domain.name} ({len(domain.train)} images)")
    perm = torch.randperm(len(domain.train), generator=torch.Generator().manual_seed(seed))
    val, train = perm[:size].sort().values, perm[size:].sort().values
    return Split(domain.train.x[train], domain.train.y[train]), Split(domain.train.x[val], domain.train.y[val])


@torch.no_grad()
def evaluate(method: Method, data: Data, device: torch.device) -> dict[str, Any]:
    """Accuracies on the test sets (and source validation), one pass of G_f per image."""
    model = method.model
    model.eval()
    method.heads.eval()

    def outputs(images: torch.Tensor) -> torch.Tensor:
        features = model.embed(images)
        logits = model.classifier(features)
        domain = method.domain_logits(features, logits)
        return logits if domain is None else torch.cat([logits, domain.unsqueeze(1)], dim=1)

    s_out, t_out = (
        batched(outputs, data.source_test.x, device=device),
        batched(outputs, data.target_test.x, device=device),
    )
    c = data.num_classes
    has_domain = s_out.shape[1] > c
    out = {
        "source_acc": accuracy(s_out[:, :c], data.source_test.y),
        "target_acc": accuracy(t_out[:, :c], data.target_test.y),
        "domain_acc": domain_accuracy(s_out[:, c], t_out[:, c]) if has_domain else None,
        "target_per_class": per_class_accuracy(t_out[:, :c], data.target_test.y, c),
    }
    if len(data.source_val):
        out["source_val_acc"] = accuracy(batched(model, data.source_val.x, device=device), data.source_val.y)
    model.train()
    method.heads.train()
    return out


def make_optimizer(cfg: AdaptConfig, params) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def load_initial_weights(cfg: AdaptConfig, model: GaninNet, fingerprints: dict[str, str]) -> None:
    """The weights `--init` names: the checkpoint that run itself reported (last or best).
    It must have learned this run's source and target: the same content, compared by the
    fingerprints its checkpoint carries (by name for a run from before they did)."""
    state, init_cfg = load_run_state(cfg.init, require_finished=True)
    initial = build_model(state, init_cfg.normalization)
    if init_cfg.normalization != cfg.normalization:
        raise AdvlabError(
            f"--init {cfg.init} was trained with {init_cfg.normalization} normalisation, this run uses "
            f"{cfg.normalization}"
        )
    learned = state.get("identity", {}).get("data")
    differ = [k for k in ("source", "target") if learned and learned.get(k) != fingerprints[k]]
    if differ:
        raise AdvlabError(
            f"--init {cfg.init} was trained on other {' and '.join(differ)} images than this run's "
            f"{' and '.join(f'--{k} {getattr(cfg, k)!r}' for k in differ)}; pass the data it was trained on"
        )
    if not learned and (init_cfg.source, init_cfg.target) != (cfg.source, cfg.target):
        raise AdvlabError(
            f"--init {cfg.init} was trained on {init_cfg.source} -> {init_cfg.target}, this run is {cfg.source} -> "
            f"{cfg.target}; "
            f"pass the same --source and --target"
        )
    if initial.num_classes != model.num_classes:
        raise AdvlabError(
            f"--init {cfg.init} has {initial.num_classes} classes, this run's domains have {model.num_classes}"
        )
    model.load_state_dict(initial.state_dict())


class LabelAudit:
    """Scores labels a method gave target images against the held-back target labels, for
    the record only (e.g. how right the pseudo-labels are)."""

    def __init__(self, labels: torch.Tensor):
        self.labels, self.size = labels, len(labels)

    def __call__(self, indices: torch.Tensor, labels: torch.Tensor) -> float:
        return (labels == self.labels[indices]).float().mean().item()


def checkpoint_state(
    method: Method,
    optimizers: dict[str, torch.optim.Optimizer],
    epoch: int,
    history: list[dict[str, Any]],
    run_identity: dict[str, Any],
) -> dict[str, Any]:
    """Everything a resume needs, what rebuilds the model without the config, and the
    identity of the run that wrote it (what a resume or --init checks it against)."""
    return {
        "method": method.name,
        "identity": run_identity,
        "model_args": method.model.constructor_args(),
        "model": method.model.state_dict(),
        "heads": method.heads.state_dict(),
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "method_state": method.state_dict(),
        "epoch": epoch,
        "history": history,
    }


def run_adapt(cfg: AdaptConfig, resume: bool = False, quiet: bool = False) -> dict[str, Any] | None:
    """Train, evaluate each epoch, checkpoint, and return the summary (also in summary.json)."""
    set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    needs = METHODS[cfg.method].needs
    world = join(device)  # one process, or this one's place in a torchrun job
    if world.size > 1:
        if METHODS[cfg.method].batch_statistic:
            raise AdvlabError(
                f"{cfg.method}'s loss is a statistic of the whole batch ({METHODS[cfg.method].batch_statistic}); "
                f"split over {world.size} processes it would be another loss: run it in one process"
            )
        if cfg.batch_size % world.size:
            raise AdvlabError(
                f"batch size {cfg.batch_size} must be a multiple of the {world.size} processes that share each batch"
            )
        quiet = quiet or not world.main
    # only rank 0 keeps the record; the others read a checkpoint to resume from and write nothing
    run = open_run(cfg.run_dir(), resume, "metrics.jsonl", "adapt") if world.main else MutedRun(cfg.run_dir())
    last_ckpt = run.file(CHECKPOINT)

    data = prepare_data(cfg, quiet)
    torch.manual_seed(cfg.seed)
    model = GaninNet(data.num_classes, cfg.normalization)
    method = METHODS[cfg.method](model, cfg)  # its heads draw their initial weights right after the backbone's
    if cfg.init:
        load_initial_weights(cfg, model, data.fingerprints)
    model.to(device)
    method.heads.to(device)
    optimizers = method.optimizers(lambda params: make_optimizer(cfg, params))
    # the schedule scales each group's initial rate, as configured (not as a checkpoint saved it)
    base_lrs = {name: [group["lr"] for group in opt.param_groups] for name, opt in optimizers.items()}
    history: list[dict[str, Any]] = []
    start_epoch = 0
    run_identity = identity(cfg.recorded(), data.fingerprints)
    if resume and not last_ckpt.exists() and not quiet:
        print(f"nothing to resume in {run.path} yet (no checkpoint): starting from the first epoch")
    if resume and last_ckpt.exists():
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
            check_identity(run, state["identity"], run_identity, {k: getattr(cfg, k) for k in by_content})
        try:
            model.load_state_dict(state["model"])
            method.heads.load_state_dict(state["heads"])
            for name, optimizer in optimizers.items():
                optimizer.load_state_dict(state["optimizers"][name])
        except (RuntimeError, ValueError, KeyError):
            raise AdvlabError(
                f"{last_ckpt} does not fit this run's networks (another run's checkpoint?); "
                "start a new run with another --out"
            ) from None
        method.load_state_dict(state.get("method_state", {}))
        start_epoch = int(state["epoch"])
        history = list(state["history"])
        run.rewrite_jsonl("metrics.jsonl", history)  # drops lines of an epoch that never reached its checkpoint
        if not quiet:
            print(f"resuming {run.path} after epoch {start_epoch}")
    run.write_text("config.yaml", to_yaml(cfg.recorded()))

    driver = data.source_train if needs.source else data.target_train
    steps = len(driver) // cfg.batch_size
    if steps == 0:
        raise AdvlabError(
            f"batch size {cfg.batch_size} is larger than the {len(driver)} training images an epoch walks through "
            f"({_training_images_said(cfg, needs.source)})"
        )
    streams = {
        "source": IndexStream(len(data.source_train), cfg.batch_size, cfg.seed * 2 + 1),
        "target": IndexStream(len(data.target_train), cfg.batch_size, cfg.seed * 2 + 2),
    }
    source_x, source_y = data.source_train.x.to(device), data.source_train.y.to(device)
    target_x, target_y = data.target_train.x.to(device), data.target_train.y.to(device)
    total_steps = cfg.epochs * steps
    images_per_step = cfg.batch_size * (needs.source + needs.target)
    audit = LabelAudit(data.target_train.y)
    probe = (
        make_probe(
            data.target_train.x,
            data.source_train.x,
            data.source_val.x,
            data.source_val.y,
            cfg.validation_size,
            cfg.seed,
        )
        if cfg.validation_size
        else None
    )
    if cfg.select == "class_ami" and len(probe.target) <= data.num_classes:
        raise AdvlabError(
            f"select class_ami needs more than {data.num_classes} validation images (k-means makes one cluster per "
            "class); "
            f"the target has {len(probe.target)} for --validation-size {cfg.validation_size}"
        )
    selected_key = VALIDATORS.get(cfg.select)
    now: dict[str, Any] = {}  # this epoch's running values, shared by the step and the epoch's end

    def begin(epoch: int) -> None:
        method.begin_epoch(epoch, data.target_train.x, device)
        pool = method.target_pool()
        now.update(sums={}, images=0, pool=None)
        if pool is not None:  # the method's own selection of target images, with the labels it gave them
            streams["target"] = IndexStream(len(pool[0]), cfg.batch_size, cfg.seed * 2 + 2)
            now["pool"] = (target_x[pool[0].to(device)], pool[1].to(device))

    def step(epoch: int, i: int) -> dict[str, str] | None:
        global_step = epoch * steps + i
        p = global_step / total_steps
        lam = reversal_factor(cfg.lambda_schedule, p, cfg.gamma, cfg.lambda_max)
        for name, optimizer in optimizers.items():
            for group, base in zip(optimizer.param_groups, base_lrs[name]):
                group["lr"] = learning_rate(cfg.lr_schedule, p, base, cfg.lr_alpha, cfg.lr_beta)
        now.update(lr=learning_rate(cfg.lr_schedule, p, cfg.lr, cfg.lr_alpha, cfg.lr_beta), lam=lam)
        si = streams["source"].indices(global_step).to(device) if needs.source else None
        ti = streams["target"].indices(global_step).to(device) if needs.target else None
        # only labelled images are augmented; target labels reach only a method that trains on them
        xs = augment(source_x[si], cfg.augment, cfg.seed, global_step) if si is not None else None
        xt = target_x[ti] if ti is not None and now["pool"] is None else None
        if needs.target_labels:
            xt = augment(xt, cfg.augment, cfg.seed, global_step)
        batch = Batch(xs, source_y[si] if si is not None else None, xt, target_y[ti] if needs.target_labels else None)
        if now["pool"] is not None:
            batch.xt, batch.pt = now["pool"][0][ti], now["pool"][1][ti]
        batch = batch.shard(world.rank, world.size)  # the global batch is drawn (and augmented) alike on every rank
        try:
            with autocast(precision, device):  # the training step only: evaluation and validators stay fp32
                parts = method.train_step(batch, StepInfo(lam, epoch), optimizers)
        except NonFiniteLoss as e:
            raise diverged(
                e, f"epoch {epoch + 1}, step {i + 1} (lr {now['lr']:.3g}, lambda {lam:.3g})", run, epoch
            ) from None
        sums = now["sums"]
        for name, value in parts.items():
            value = mean_over_ranks(value)
            sums[name] = sums.get(name, 0.0) + value.item()
        now["images"] += images_per_step
        return {k: f"{v / (i + 1):.3f}" for k, v in sums.items()} if i % 20 == 0 else None

    def end(epoch: int, seconds: float) -> None:
        if not world.main:
            return  # rank 0 evaluates and writes; the others go on to the next epoch
        record = {
            "epoch": epoch + 1,
            "lr": now["lr"],
            "lambda": now["lam"],
            **{f"loss_{k}": v / steps for k, v in now["sums"].items()},
            **evaluate(method, data, device),
            "train_seconds": seconds,
            "train_images": now["images"],
            "images_per_second": now["images"] / seconds,
            **method.epoch_record(epoch, audit),
        }
        model.eval()
        if probe is not None:
            record |= score_validators(model, probe, device, cfg.seed)
        earlier = [h["source_val_acc"] for h in history if h.get("source_val_acc") is not None]
        record["degenerate"] = check_degeneracy(
            model, probe, device, data.num_classes, record.get("source_val_acc"), max(earlier, default=None)
        )
        model.train()
        history.append(record)
        state = checkpoint_state(method, optimizers, epoch + 1, history, run_identity)
        if cfg.select != "last" and is_best(record, history, selected_key):
            save_checkpoint(state, run.file("best.pt"))
        save_checkpoint(state, last_ckpt)
        run.append_jsonl("metrics.jsonl", record)
        print(epoch_line(record, cfg.epochs), flush=True)
        if record["degenerate"]:
            print(f"warning: epoch {record['epoch']} looks degenerate: {record['degenerate']}", flush=True)

    run_epochs(start_epoch, cfg.epochs, steps, step, end, quiet, begin=begin, images_per_step=images_per_step)
    if not world.main:
        leave()  # waits at the barrier until rank 0 has written the summary below: the ranks leave together
        return None

    chosen = history[-1] if cfg.select == "last" else selected(history, selected_key)
    degenerate_epochs = [h["epoch"] for h in history if h.get("degenerate")]
    train_seconds = sum(h["train_seconds"] for h in history)
    images_seen = sum(h["train_images"] for h in history)
    summary = {
        "method": cfg.method,
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
        "degenerate": chosen.get("degenerate"),
        "degenerate_epochs": degenerate_epochs,
        "init": cfg.init,
        "pseudo_label_rounds": None,
        **method.summary(history),
        "seconds": train_seconds,
        "train_images_per_second": images_seen / train_seconds if train_seconds else None,
        "device": str(device),
        "precision": precision,
        "processes": world.size,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
    }
    run.write_json("summary.json", summary)
    if chosen.get("degenerate"):
        print(f"warning: the reported checkpoint (epoch {chosen['epoch']}) is degenerate: {chosen['degenerate']}")
    elif degenerate_epochs:
        print(f"warning: epochs {', '.join(map(str, degenerate_epochs))} looked degenerate (not the reported one)")
    # A rank that tore its process group down while rank 0 (which hosts the group's store)
    # still worked died at exit now and then ("terminate called without an active
    # exception", SIGABRT; seen under load on resumed runs), failing the whole job.
    leave()
    return summary


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


def epoch_line(record: dict[str, Any], epochs: int) -> str:
    losses = " ".join(f"{k[5:]} {v:.3f}" for k, v in record.items() if k.startswith("loss_"))
    adversarial = record["domain_acc"] is not None
    domain = f" | domain {record['domain_acc']:.3f} | lambda {record['lambda']:.3f}" if adversarial else ""
    if "pl_round" in record:
        share, right = record["pl_selected_share"], record["pl_label_acc"]
        domain = f" | round {record['pl_round']}: {share:.0%} pseudo-labelled, {right:.3f} correct"
    return (
        f"epoch {record['epoch']:>3}/{epochs} | loss {losses} | source {record['source_acc']:.4f} "
        f"| target {record['target_acc']:.4f}{domain} | lr {record['lr']:.4g} "
        f"| {record['train_seconds']:.1f}s {record['images_per_second']:.0f} img/s"
    )
