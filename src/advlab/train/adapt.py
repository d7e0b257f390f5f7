"""`advlab adapt`: one training loop for every domain-adaptation method.

The loop owns data batching, schedules, optimisation, evaluation, checkpoints and the
run directory; the method (advlab.methods) owns the loss. Target test labels are only
ever used to *report* accuracy, never to choose anything.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

from advlab.config import check, option, resolve, to_yaml
from advlab.data.augment import AUGMENTATIONS, augment
from advlab.data.domains import Domain, Split, load_domain
from advlab.data.images import GEOMETRIES
from advlab.errors import AdvlabError, DivergedError
from advlab.methods import METHODS, Batch
from advlab.metrics.accuracy import accuracy, batched, domain_accuracy, per_class_accuracy
from advlab.models.dann import DANNNet
from advlab.nn.input import NORMALIZATIONS
from advlab.train.checkpoint import load_checkpoint, save_checkpoint
from advlab.train.progress import progress
from advlab.train.pseudo_labels import Selection, pseudo_label, round_share
from advlab.train.rundir import RunDir
from advlab.train.sampling import IndexStream
from advlab.train.schedules import LAMBDA_SCHEDULES, LR_SCHEDULES, learning_rate, reversal_factor


@dataclass
class AdaptConfig:
    method: str = option("dann", "training method", tuple(METHODS))
    source: str = option("mnist", "labelled source domain: mnist, mnist_m, an image folder or an .npz")
    target: str = option("mnist_m", "target domain (its labels are used only to report accuracy)")
    data_dir: str | None = option(None, "where built-in data sets live (else $ADVLAB_DATA, else ~/.cache/advlab/data)")
    geometry: str = option("crop", "how larger images become 28x28: centre crop or bilinear resize", GEOMETRIES)
    normalization: str = option("per_image", "input normalisation inside the model", NORMALIZATIONS)
    augment: str = option("invert", "augmentation of labelled training images: none, or invert a random half", AUGMENTATIONS)
    epochs: int = option(12, "passes over the source training set")
    batch_size: int = option(64, "images per domain per step")
    optimizer: str = option("sgd", "sgd (momentum) or adam", ("sgd", "adam"))
    lr: float = option(0.01, "initial learning rate mu_0")
    momentum: float = option(0.9, "SGD momentum")
    weight_decay: float = option(0.0, "L2 weight decay")
    lr_schedule: str = option("anneal", "anneal: mu_0/(1+alpha p)^beta; step: x0.1 at 50% and 75%; constant", LR_SCHEDULES)
    lr_alpha: float = option(10.0, "alpha of the annealing schedule")
    lr_beta: float = option(0.75, "beta of the annealing schedule")
    lambda_schedule: str = option("ramp", "ramp: lambda_max (2/(1+exp(-gamma p)) - 1); constant: lambda_max", LAMBDA_SCHEDULES)
    gamma: float = option(10.0, "gamma of the lambda ramp")
    lambda_max: float = option(1.0, "scale of the reversal factor lambda")
    init: str | None = option(None, "start from the weights of this finished advlab adapt run (its selected checkpoint)")
    rounds: int = option(3, "pseudo_label: relabelling rounds, spread evenly over the epochs")
    pl_threshold: float = option(0.9, "pseudo_label: least confidence for a target image to be pseudo-labelled")
    val_size: int = option(1000, "source training images held out as a validation split (never target)")
    select: str = option("last", "reported checkpoint: the last epoch, or the best source-validation accuracy", ("last", "source_val"))
    train_subset: int | None = option(None, "use only the first N training images of each domain (quick runs)")
    test_subset: int | None = option(None, "evaluate on only the first N test images of each domain")
    seed: int = option(0, "seed for initialisation and batch order")
    threads: int | None = option(None, "CPU threads (default: all cores)")
    device: str = option("cpu", "cpu, cuda, or auto (cuda when available)")
    out: str | None = option(None, "run directory (default runs/<method>-<source>-<target>-s<seed>)")

    def validate(self) -> None:
        check(self.method in METHODS, f"unknown method {self.method!r}; choose from {', '.join(METHODS)}")
        check(self.geometry in GEOMETRIES, f"geometry must be one of {', '.join(GEOMETRIES)}")
        check(self.augment in AUGMENTATIONS, f"augment must be one of {', '.join(AUGMENTATIONS)}")
        check(self.normalization in NORMALIZATIONS, f"normalization must be one of {', '.join(NORMALIZATIONS)}")
        check(self.epochs > 0, f"epochs must be > 0, got {self.epochs}")
        check(self.batch_size > 0, f"batch size must be > 0, got {self.batch_size}")
        check(self.lr > 0 and math.isfinite(self.lr), f"learning rate must be > 0, got {self.lr}")
        check(0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}")
        check(self.weight_decay >= 0, f"weight decay must be >= 0, got {self.weight_decay}")
        check(self.optimizer in ("sgd", "adam"), f"optimizer must be sgd or adam, got {self.optimizer!r}")
        check(self.lr_schedule in LR_SCHEDULES, f"lr schedule must be one of {', '.join(LR_SCHEDULES)}")
        check(self.lambda_schedule in LAMBDA_SCHEDULES, f"lambda schedule must be one of {', '.join(LAMBDA_SCHEDULES)}")
        check(self.gamma >= 0 and math.isfinite(self.gamma), f"gamma must be >= 0, got {self.gamma}")
        check(self.lambda_max >= 0 and math.isfinite(self.lambda_max), f"lambda max must be >= 0, got {self.lambda_max}")
        check(self.lr_alpha >= 0 and self.lr_beta >= 0, "lr alpha and beta must be >= 0")
        check(self.rounds > 0, f"rounds must be > 0, got {self.rounds}")
        check(self.method != "pseudo_label" or self.epochs % self.rounds == 0, f"rounds ({self.rounds}) must divide epochs ({self.epochs})")
        check(0 <= self.pl_threshold < 1, f"pl threshold must be in [0, 1), got {self.pl_threshold}")
        check(self.method != "pseudo_label" or self.init is not None, "method pseudo_label starts from a trained model: pass --init RUN_DIR")
        check(self.val_size >= 0, f"val size must be >= 0, got {self.val_size}")
        check(self.select in ("last", "source_val"), f"select must be last or source_val, got {self.select!r}")
        check(self.select == "last" or self.val_size > 0, "select source_val needs val_size > 0")
        for name in ("train_subset", "test_subset", "threads"):
            value = getattr(self, name)
            check(value is None or value > 0, f"{name.replace('_', ' ')} must be > 0, got {value}")
        check(self.device in ("cpu", "cuda", "auto"), f"device must be cpu, cuda or auto, got {self.device!r}")
        check(self.device != "cuda" or torch.cuda.is_available(), "device cuda asked for, but no CUDA device is available")

    def run_dir(self) -> Path:
        def short(spec: str) -> str:
            return Path(spec).stem if spec not in ("mnist", "mnist_m") else spec
        return Path(self.out or f"runs/{self.method}-{short(self.source)}-{short(self.target)}-s{self.seed}")


@dataclass
class Data:
    source_train: Split
    source_val: Split
    source_test: Split
    target_train: Split
    target_test: Split
    num_classes: int


def prepare_data(cfg: AdaptConfig, quiet: bool) -> Data:
    source = load_domain(cfg.source, cfg.data_dir, cfg.geometry, quiet)
    target = load_domain(cfg.target, cfg.data_dir, cfg.geometry, quiet)
    if source.num_classes != target.num_classes:
        raise AdvlabError(f"source {source.name} has {source.num_classes} classes but target {target.name} has {target.num_classes}")
    source_train, source_val = split_validation(source, cfg.val_size, cfg.seed)
    return Data(
        source_train.subset(cfg.train_subset),
        source_val,
        source.test.subset(cfg.test_subset),
        target.train.subset(cfg.train_subset),
        target.test.subset(cfg.test_subset),
        source.num_classes,
    )


def split_validation(domain: Domain, size: int, seed: int) -> tuple[Split, Split]:
    """Hold out `size` source training images, chosen by a seeded permutation."""
    if size >= len(domain.train):
        raise AdvlabError(f"val size {size} leaves no training images in {domain.name} ({len(domain.train)} images)")
    perm = torch.randperm(len(domain.train), generator=torch.Generator().manual_seed(seed))
    val, train = perm[:size].sort().values, perm[size:].sort().values
    return Split(domain.train.x[train], domain.train.y[train]), Split(domain.train.x[val], domain.train.y[val])


def evaluate(model: DANNNet, data: Data, device: torch.device, domain_head: bool) -> dict[str, Any]:
    model.eval()
    heads = partial(both_heads, model)
    s_logits, s_domain = batched(heads, data.source_test.x, device=device).split([data.num_classes, 1], dim=1)
    t_logits, t_domain = batched(heads, data.target_test.x, device=device).split([data.num_classes, 1], dim=1)
    out = {
        "source_acc": accuracy(s_logits, data.source_test.y),
        "target_acc": accuracy(t_logits, data.target_test.y),
        "domain_acc": domain_accuracy(s_domain.squeeze(1), t_domain.squeeze(1)) if domain_head else None,
        "target_per_class": per_class_accuracy(t_logits, data.target_test.y, data.num_classes),
    }
    if len(data.source_val):
        out["source_val_acc"] = accuracy(batched(model, data.source_val.x, device=device), data.source_val.y)
    model.train()
    return out


def both_heads(model: DANNNet, images: torch.Tensor) -> torch.Tensor:
    """Class logits and the domain logit side by side, from one pass of G_f."""
    features = model.embed(images)
    return torch.cat([model.classifier(features), model.discriminator(features)], dim=1)


def make_optimizer(cfg: AdaptConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def resolve_device(name: str) -> torch.device:
    return torch.device("cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu")


def load_initial_weights(cfg: AdaptConfig, model: DANNNet) -> None:
    """The weights `--init` names: the checkpoint that run itself reported (last or best)."""
    run_dir = Path(cfg.init)
    if not (run_dir / "config.yaml").is_file():
        raise AdvlabError(f"--init {run_dir} is not an advlab adapt run directory (no config.yaml)")
    init_cfg = resolve(AdaptConfig, {}, run_dir / "config.yaml")
    if init_cfg.normalization != cfg.normalization:
        raise AdvlabError(f"--init {run_dir} was trained with {init_cfg.normalization} normalisation, this run uses {cfg.normalization}")
    state = load_checkpoint(run_dir / ("best.pt" if init_cfg.select == "source_val" else "last.pt"))
    if init_cfg.select == "last" and int(state["epoch"]) != init_cfg.epochs:
        raise AdvlabError(f"--init {run_dir} stopped after epoch {state['epoch']} of {init_cfg.epochs}; finish it with --resume first")
    model.load_state_dict(state["model"])


def run_adapt(cfg: AdaptConfig, resume: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Train, evaluate each epoch, checkpoint, and return the summary (also in summary.json)."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    method = METHODS[cfg.method]
    run = RunDir(cfg.run_dir())
    last_ckpt = run.file("last.pt")
    if not resume and (last_ckpt.exists() or run.file("metrics.jsonl").exists()):
        raise AdvlabError(f"{run.path} already holds a run; pass --resume to continue it, or choose another --out")

    data = prepare_data(cfg, quiet)
    torch.manual_seed(cfg.seed)
    model = DANNNet(data.num_classes, cfg.normalization)
    if cfg.init:
        load_initial_weights(cfg, model)
    model.to(device)
    optimizer = make_optimizer(cfg, model)
    history: list[dict[str, Any]] = []
    start_epoch = 0
    selection: Selection | None = None
    if resume and last_ckpt.exists():
        state = load_checkpoint(last_ckpt)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch = int(state["epoch"])
        history = list(state["history"])
        if "pseudo_labels" in state:
            selection = Selection(state["pseudo_labels"]["indices"], state["pseudo_labels"]["labels"])
        run.rewrite_jsonl("metrics.jsonl", history)  # drops lines of an epoch that never reached its checkpoint
        if not quiet:
            print(f"resuming {run.path} after epoch {start_epoch}")
    run.write_text("config.yaml", to_yaml(cfg))

    driver = data.source_train if method.uses_source else data.target_train
    steps = len(driver) // cfg.batch_size
    if steps == 0:
        raise AdvlabError(f"batch size {cfg.batch_size} is larger than the {len(driver)} training images")
    streams = {
        "source": IndexStream(len(data.source_train), cfg.batch_size, cfg.seed * 2 + 1),
        "target": IndexStream(len(data.target_train), cfg.batch_size, cfg.seed * 2 + 2),
    }
    source_x, source_y = data.source_train.x.to(device), data.source_train.y.to(device)
    target_x, target_y = data.target_train.x.to(device), data.target_train.y.to(device)
    total_steps = cfg.epochs * steps
    epochs_per_round = cfg.epochs // cfg.rounds
    train_seconds = sum(h["train_seconds"] for h in history)
    images_seen = sum(h["train_images"] for h in history)

    for epoch in range(start_epoch, cfg.epochs):
        if method.uses_pseudo_labels and (epoch % epochs_per_round == 0 or selection is None):
            share = round_share(epoch // epochs_per_round, cfg.rounds)
            selection = pseudo_label(model, data.target_train.x, cfg.pl_threshold, share, device)
            if len(selection) < cfg.batch_size:
                raise AdvlabError(f"only {len(selection)} target images reach confidence {cfg.pl_threshold}; lower --pl-threshold")
        if selection is not None:
            streams["target"] = IndexStream(len(selection), cfg.batch_size, cfg.seed * 2 + 2)
            pseudo_x, pseudo_y = target_x[selection.indices.to(device)], selection.labels.to(device)
        sums: dict[str, float] = {}
        images = 0
        started = time.perf_counter()
        bar = progress(steps, f"epoch {epoch + 1}/{cfg.epochs}", quiet, unit="step")
        for step in range(steps):
            global_step = epoch * steps + step
            p = global_step / total_steps
            lr = learning_rate(cfg.lr_schedule, p, cfg.lr, cfg.lr_alpha, cfg.lr_beta)
            lam = reversal_factor(cfg.lambda_schedule, p, cfg.gamma, cfg.lambda_max)
            for group in optimizer.param_groups:
                group["lr"] = lr
            si = streams["source"].indices(global_step).to(device) if method.uses_source else None
            ti = streams["target"].indices(global_step).to(device) if method.uses_target else None
            # only labelled images are augmented; target labels reach only a method that trains on them
            xs = augment(source_x[si], cfg.augment, cfg.seed, global_step) if si is not None else None
            xt = target_x[ti] if ti is not None and selection is None else None
            if method.uses_target_labels:
                xt = augment(xt, cfg.augment, cfg.seed, global_step)
            batch = Batch(xs, source_y[si] if si is not None else None, xt, target_y[ti] if method.uses_target_labels else None)
            if selection is not None:  # the selected target images, with the labels the model gave them
                batch.xt, batch.pt = pseudo_x[ti], pseudo_y[ti]
            loss, parts = method.loss(model, batch, lam)
            if not torch.isfinite(loss):
                bar.close()
                raise DivergedError(
                    f"loss became {loss.item()} at epoch {epoch + 1}, step {step + 1} (lr {lr:.3g}, lambda {lam:.3g}); "
                    f"stopped, the last good checkpoint is kept in {run.path}"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for name, value in parts.items():
                sums[name] = sums.get(name, 0.0) + value.item()
            images += cfg.batch_size * (method.uses_source + method.uses_target)
            bar.update(1)
            if step % 20 == 0:
                bar.set_postfix({k: f"{v / (step + 1):.3f}" for k, v in sums.items()} | {"img/s": f"{images / (time.perf_counter() - started):.0f}"})
        bar.close()
        seconds = time.perf_counter() - started
        train_seconds += seconds
        images_seen += images
        record = {
            "epoch": epoch + 1,
            "lr": lr,
            "lambda": lam,
            **{f"loss_{k}": v / steps for k, v in sums.items()},
            **evaluate(model, data, device, method.trains_domain_classifier),
            "train_seconds": seconds,
            "train_images": images,
            "images_per_second": images / seconds,
        }
        if selection is not None:
            record |= selection_record(selection, data.target_train.y, epoch // epochs_per_round + 1)
        history.append(record)
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch + 1, "history": history}
        if selection is not None:
            state["pseudo_labels"] = {"indices": selection.indices, "labels": selection.labels}
        if cfg.select == "source_val" and record["source_val_acc"] >= max(h["source_val_acc"] for h in history):
            save_checkpoint(state, run.file("best.pt"))
        save_checkpoint(state, last_ckpt)
        run.append_jsonl("metrics.jsonl", record)
        print(epoch_line(record, cfg.epochs), flush=True)

    chosen = history[-1] if cfg.select == "last" else max(history, key=lambda h: h["source_val_acc"])
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
        "init": cfg.init,
        "pseudo_label_rounds": [
            {k: h[k] for k in ("pl_round", "pl_selected_share", "pl_label_acc", "source_acc", "target_acc")}
            for h in history if "pl_round" in h and h["epoch"] % epochs_per_round == 0
        ] or None,
        "seconds": train_seconds,
        "train_images_per_second": images_seen / train_seconds if train_seconds else None,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
    }
    run.write_json("summary.json", summary)
    return summary


def selection_record(selection: Selection, target_labels: torch.Tensor, round_number: int) -> dict[str, Any]:
    """What a round selected. The held-back target labels score the pseudo-labels for the
    report only; nothing is chosen by them."""
    return {
        "pl_round": round_number,
        "pl_selected": len(selection),
        "pl_selected_share": len(selection) / len(target_labels),
        "pl_label_acc": (selection.labels == target_labels[selection.indices]).float().mean().item() if len(selection) else None,
    }


def epoch_line(record: dict[str, Any], epochs: int) -> str:
    losses = " ".join(f"{k[5:]} {v:.3f}" for k, v in record.items() if k.startswith("loss_"))
    adversarial = record["domain_acc"] is not None
    domain = f" | domain {record['domain_acc']:.3f} | lambda {record['lambda']:.3f}" if adversarial else ""
    if "pl_round" in record:
        domain = f" | round {record['pl_round']}: {record['pl_selected_share']:.0%} pseudo-labelled, {record['pl_label_acc']:.3f} correct"
    return (
        f"epoch {record['epoch']:>3}/{epochs} | loss {losses} | source {record['source_acc']:.4f} "
        f"| target {record['target_acc']:.4f}{domain} | lr {record['lr']:.4g} "
        f"| {record['train_seconds']:.1f}s {record['images_per_second']:.0f} img/s"
    )
