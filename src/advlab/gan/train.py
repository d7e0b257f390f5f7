"""`advlab gan`: every registered variant (gan/variants.py) through one training loop.

The variants differ in the networks' conditioning, D's packing and normalisation (all
decided when the networks are built) and the loss (gan/losses.py, chosen by name); the
data, optimisers, logging and checkpoints are shared.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from pathlib import Path
from typing import Any

import torch

from advlab.config import load_yaml, resolve, to_yaml
from advlab.data.domains import load_domain
from advlab.errors import AdvlabError
from advlab.gan.config import GanConfig, recorded_options
from advlab.gan.evaluate import evaluate_run, unscorable
from advlab.gan.evaluator import data_fingerprint, to_unit_range
from advlab.gan.losses import fake_term, generator_term, real_term
from advlab.models.dcgan import Discriminator, Generator
from advlab.runs.checkpoint import load_checkpoint, save_checkpoint
from advlab.runs.ema import WeightAverage
from advlab.runs.engine import (
    CHECKPOINT,
    MARKER,
    NonFiniteLoss,
    check_finite,
    check_identity,
    check_resume,
    diverged,
    identity,
    open_run,
    run_epochs,
    set_threads,
)
from advlab.runs.hardware import autocast, resolve_device, resolve_precision
from advlab.runs.rundir import RunDir
from advlab.runs.sampling import IndexStream, step_generator
from advlab.viz.curves import plot_losses
from advlab.viz.grids import save_grid

COLLAPSE_WINDOW = 200
COLLAPSE_D_LOSS = 0.01
MAX_LABEL_CHANNELS = 100  # D's label maps as channels: one per class
ZY_GRID_ROWS = 10  # the z x y grid shows the first classes (Stacked-MNIST has 1000)
FIXED_Z_SEED = 20150101  # the z x y grid's columns: the same z in every run and variant


def build_models(cfg: GanConfig, num_classes: int, channels: int) -> tuple[Generator, Discriminator]:
    """G and D as the run's variant says. Both always receive y in the loop; a network built
    without conditioning ignores it, so the variant's choice is taken here, once."""
    spec = cfg.spec
    torch.manual_seed(cfg.seed)
    g = Generator(cfg.z_dim, num_classes if spec.g_sees_label else 0, cfg.g_width, channels)
    d = Discriminator(num_classes, cfg.d_width, channels, spec.d_conditioning, spec.pack, spec.spectral_norm)
    return g, d


def fixed_z(n: int, z_dim: int) -> torch.Tensor:
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(FIXED_Z_SEED))


@torch.no_grad()
def draw_grids(g: Generator, cfg: GanConfig, run: RunDir, name: str, zy: bool) -> None:
    """A 10 x 10 sample grid from one fixed noise batch (row r shows class r for a conditional
    G); with `zy`, the z x y grid: each column one fixed z, each row one class."""
    g.eval()
    device = next(g.parameters()).device
    rows = 10
    z = fixed_z(rows * 10, cfg.z_dim).to(device)
    labels = torch.arange(rows, device=device).repeat_interleave(10) if g.num_classes else None
    save_grid(g(z, labels).cpu(), 10, run.file(name))
    if zy and g.num_classes:
        zs = fixed_z(cfg.grid_columns, cfg.z_dim)
        torch.save(zs, run.file("zy_grid_z.pt"))
        rows = min(g.num_classes, ZY_GRID_ROWS)
        z = zs.repeat(rows, 1).to(device)
        labels = torch.arange(rows, device=device).repeat_interleave(cfg.grid_columns)
        save_grid(g(z, labels).cpu(), cfg.grid_columns, run.file("zy_grid.png"))
    g.train()


def _read_losses(path: Path, upto: int) -> list[list[str]]:
    if not path.exists():
        return []
    with open(path) as f:
        rows = list(csv.reader(f))
    # a run killed mid-write can leave a cut-off last line: only whole rows up to the checkpoint stay
    return [r for r in rows[1:] if len(r) == len(LOSS_COLUMNS) and r[0].isdigit() and int(r[0]) <= upto]


LOSS_COLUMNS = ["iteration", "epoch", "loss_d", "loss_g", "d_x", "d_g_z"]


def run_gan(cfg: GanConfig, resume: bool = False, quiet: bool = False) -> dict[str, Any]:
    set_threads(cfg.threads)
    run = open_run(cfg.run_dir(), resume, "losses.csv", "gan")
    last_ckpt = run.file(CHECKPOINT)
    domain = load_domain(cfg.dataset, cfg.data_dir, quiet=quiet)
    train = domain.train.subset(cfg.train_subset)
    if cfg.batch_size > len(train):
        raise AdvlabError(f"batch size {cfg.batch_size} is larger than the {len(train)} training images")
    if cfg.spec.d_conditioning == "channels" and domain.num_classes > MAX_LABEL_CHANNELS:
        raise AdvlabError(
            f"{cfg.dataset} has {domain.num_classes} classes: D conditioned by channels would stack "
            f"{domain.num_classes} label "
            "maps on every image; use --d-conditioning projection (or an unconditional variant)"
        )
    g, d = build_models(cfg, domain.num_classes, train.x.shape[1])
    device = resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    g.to(device)
    d.to(device)
    train_x, train_y = train.x.to(device), train.y.to(device)  # the data stays where the models are
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=True)
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=True)
    average = WeightAverage(g, cfg.ema) if cfg.ema else None
    sampler = average.model if average else g  # what draws the grids and is measured
    start_epoch, warnings, seconds = 0, [], 0.0
    fingerprint = data_fingerprint(domain.train)  # which data the run learns (and its metrics must come from)
    run_identity = identity(dataclasses.asdict(cfg), {"dataset": fingerprint})
    if resume and not last_ckpt.exists() and not quiet:
        print(f"nothing to resume in {run.path} yet (no checkpoint): starting from the first epoch")
    if resume and last_ckpt.exists():
        state = load_checkpoint(last_ckpt)
        if "g" not in state or "g_sampler" not in state:
            raise AdvlabError(f"{last_ckpt} is not an advlab gan checkpoint")
        config = run.file("config.yaml")
        saved = resolve(GanConfig, {}, base=recorded_options(config)) if config.exists() else None
        # a checkpoint from before identities: the data are compared by name, in config.yaml
        by_content = ("dataset",) if "identity" in state else ()
        check_resume(run, saved, cfg, int(state["epoch"]), by_content)
        if by_content:
            check_identity(run, state["identity"], run_identity, {"dataset": cfg.dataset})
        try:
            for module, key in ((g, "g"), (d, "d"), (opt_g, "opt_g"), (opt_d, "opt_d"), (sampler, "g_sampler")):
                module.load_state_dict(state[key])
        except (RuntimeError, ValueError, KeyError):
            raise AdvlabError(
                f"{last_ckpt} does not fit this run's networks (another run's checkpoint?); "
                "start a new run with another --out"
            ) from None
        start_epoch, warnings, seconds = int(state["epoch"]), list(state["warnings"]), float(state["seconds"])
    run.write_text("config.yaml", to_yaml(dataclasses.asdict(cfg)))

    steps = len(train) // cfg.batch_size
    stream = IndexStream(len(train), cfg.batch_size, cfg.seed)
    kept = _read_losses(run.file("losses.csv"), start_epoch * steps)
    log = open(run.file("losses.csv"), "w", newline="")
    writer = csv.writer(log)
    writer.writerows([LOSS_COLUMNS, *kept])
    recent_d = [float(r[2]) for r in kept[-COLLAPSE_WINDOW:]]
    spec = cfg.spec
    sums = torch.zeros(4)

    def begin(epoch: int) -> None:
        sums.zero_()

    def game_step(
        real: torch.Tensor, y: torch.Tensor, z: torch.Tensor, noise: torch.Generator
    ) -> tuple[torch.Tensor, ...]:
        """One round of the game: D's update, then G's (two paragraphs, as in pytorch/examples)."""
        fake = g(z, y)

        # D: real images are real, generated ones fake
        d_real, d_fake = d(real, y), d(fake.detach(), y)
        loss_d = real_term(spec.loss, d_real) + fake_term(spec.loss, d_fake)
        if spec.mismatch:  # matching-aware D: a real image under a wrong label is fake too
            wrong = (y + torch.randint(1, domain.num_classes, y.shape, generator=noise).to(device)) % domain.num_classes
            loss_d = loss_d + spec.mismatch * fake_term(spec.loss, d(real, wrong))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        # G: make D call its images real
        d.requires_grad_(False)  # G's step needs gradients through D, not D's own
        loss_g = generator_term(spec.loss, d(fake, y))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        d.requires_grad_(True)
        return loss_d, loss_g, d_real, d_fake

    def step(epoch: int, i: int) -> dict[str, str] | None:
        nonlocal recent_d
        it = epoch * steps + i
        idx = stream.indices(it).to(device)
        real, y = to_unit_range(train_x[idx]), train_y[idx]
        noise = step_generator(cfg.seed, it)  # drawn on the CPU: the same noise on every device
        z = torch.randn(cfg.batch_size, cfg.z_dim, generator=noise).to(device)
        with autocast(precision, device):
            loss_d, loss_g, d_real, d_fake = game_step(real, y, z, noise)
        if average:
            average.update(it)

        values = (
            torch.stack(
                [
                    loss_d.detach(),
                    loss_g.detach(),
                    torch.sigmoid(d_real).mean().detach(),
                    torch.sigmoid(d_fake).mean().detach(),
                ]
            )
            .float()
            .cpu()
        )
        try:
            check_finite(values, "a loss")
        except NonFiniteLoss as e:
            raise diverged(e, f"iteration {it + 1}", run, epoch) from None
        sums.add_(values)
        row = values.tolist()
        writer.writerow([it + 1, epoch + 1, *(f"{v:.5f}" for v in row)])
        recent_d = (recent_d + [row[0]])[-COLLAPSE_WINDOW:]
        if (
            len(recent_d) == COLLAPSE_WINDOW
            and max(recent_d) < COLLAPSE_D_LOSS
            and not any("D loss" in w for w in warnings)
        ):
            warnings.append(
                f"iteration {it + 1}: D loss stayed below {COLLAPSE_D_LOSS} for {COLLAPSE_WINDOW} iterations (D wins "
                "outright; G is likely failing or collapsed)"
            )
            print(f"warning: {warnings[-1]}", flush=True)
        return {"loss_d": f"{row[0]:.3f}", "loss_g": f"{row[1]:.3f}"} if i % 20 == 0 else None

    def end(epoch: int, epoch_seconds: float) -> None:
        nonlocal seconds
        log.flush()
        seconds += epoch_seconds
        draw_grids(sampler, cfg, run, f"samples_epoch{epoch + 1:03d}.png", zy=False)
        state = {
            "g": g.state_dict(),
            "d": d.state_dict(),
            "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict(),
            "g_sampler": sampler.state_dict(),
            "g_args": g.constructor_args(),
            "identity": run_identity,
            "epoch": epoch + 1,
            "warnings": warnings,
            "seconds": seconds,
        }
        save_checkpoint(state, last_ckpt)
        m = (sums / steps).tolist()
        print(
            f"epoch {epoch + 1:>3}/{cfg.epochs} | loss_D {m[0]:.3f} loss_G {m[1]:.3f} | D(x) {m[2]:.3f} D(G(z)) "
            f"{m[3]:.3f} "
            f"| {epoch_seconds:.1f}s {steps * cfg.batch_size / epoch_seconds:.0f} img/s",
            flush=True,
        )

    try:
        run_epochs(start_epoch, cfg.epochs, steps, step, end, quiet, begin=begin, images_per_step=cfg.batch_size)
    finally:
        log.close()

    draw_grids(sampler, cfg, run, "samples_final.png", zy=True)
    plot_losses([run.path], run.file("losses.png"))
    summary = {
        "variant": cfg.variant,
        "loss": spec.loss,
        "d_conditioning": spec.d_conditioning,
        "pack": spec.pack,
        "spectral_norm": spec.spectral_norm,
        "dataset": cfg.dataset,
        "device": str(device),
        "precision": precision,
        "epochs": cfg.epochs,
        "seed": cfg.seed,
        "mismatch": spec.mismatch,
        "seconds": seconds,
        "seconds_per_epoch": seconds / cfg.epochs,
        "images_per_epoch": steps * cfg.batch_size,
        "warnings": warnings,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
    }
    summary["data_fingerprint"] = fingerprint
    if not cfg.eval_samples:
        summary["no_metrics"] = "--eval-samples 0"
    else:
        why = unscorable(g, cfg.dataset, cfg.data_dir, quiet)
        if why:
            summary["no_metrics"] = why
        else:
            summary |= evaluate_run(
                sampler, cfg.dataset, cfg.data_dir, cfg.eval_samples, cfg.seed, summary["data_fingerprint"], device
            )
    run.write_json("summary.json", summary)
    return summary


def load_generator(run_dir: str | Path) -> tuple[Generator, GanConfig]:
    """The sampling generator (the weight average, or G itself) of a finished or stopped run,
    rebuilt from its config.yaml and last.pt."""

    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise AdvlabError(f"{run_dir} is not an advlab gan run directory (no config.yaml)")
    made_by = (run_dir / MARKER).read_text().strip() if (run_dir / MARKER).is_file() else None
    if made_by not in (None, "gan") or "method" in load_yaml(run_dir / "config.yaml"):
        raise AdvlabError(f"{run_dir} is an advlab {made_by or 'adapt'} run, not an advlab gan run")
    cfg = resolve(GanConfig, {}, run_dir / "config.yaml")
    state = load_checkpoint(run_dir / CHECKPOINT)
    # runs from before the checkpoint carried G's arguments were all 10-class grey MNIST
    args = state.get("g_args") or {
        "z_dim": cfg.z_dim,
        "num_classes": 10 if cfg.spec.g_sees_label else 0,
        "width": cfg.g_width,
        "channels": 1,
    }
    g = Generator(**args)
    g.load_state_dict(state["g_sampler"])
    return g, cfg
