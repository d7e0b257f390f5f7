"""`advlab gan`: every registered variant (gan/variants.py) through one training loop.

The variants differ in the networks' conditioning, D's packing and normalisation (all
decided when the networks are built) and the game (gan/games/, chosen by name), which owns
D's and G's steps, how many D steps each G step gets and how D's outputs read. The loop
owns the rest: data, noise, the weight average, logging, checkpoints and the run directory.

`run_gan` reads top to bottom: `start` builds a `GanTrainer` (the run's whole state, fresh
or from its checkpoint), whose named steps the epoch loop calls, and `finish` draws,
measures and writes the summary.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import torch

from advlab.config import load_yaml, resolve, to_yaml
from advlab.data.domains import Domain, load_domain
from advlab.errors import AdvlabError
from advlab.gan.config import GanConfig, recorded_options
from advlab.gan.evaluate import evaluate_run, unscorable
from advlab.gan.evaluator import data_fingerprint, to_unit_range
from advlab.gan.games import COLLAPSE_WINDOW, Game, Players
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

MAX_LABEL_CHANNELS = 100  # D's label maps as channels: one per class
ZY_GRID_ROWS = 10  # the z x y grid shows the first classes (Stacked-MNIST has 1000)
FIXED_Z_SEED = 20150101  # the z x y grid's columns: the same z in every run and variant


def build_models(cfg: GanConfig, num_classes: int, channels: int) -> tuple[Generator, Discriminator]:
    """G and D as the run's variant says. Both always receive y in the loop; a network built
    without conditioning ignores it, so the variant's choice is taken here, once."""
    spec = cfg.spec
    torch.manual_seed(cfg.seed)
    g = Generator(cfg.z_dim, num_classes if spec.g_sees_label else 0, cfg.g_width, channels)
    d = Discriminator(
        num_classes, cfg.d_width, channels, spec.d_conditioning, spec.pack, spec.spectral_norm, spec.d_batch_norm
    )
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


LOSS_COLUMNS = ["iteration", "epoch", "loss_d", "loss_g", "d_x", "d_g_z"]
COLLAPSED = "G is likely failing or collapsed"  # every game's collapse warning says it: one warning a run


def run_gan(cfg: GanConfig, resume: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Train, checkpoint each epoch, and return the summary (also in summary.json)."""
    trainer = start(cfg.settled(), resume, quiet)
    try:
        run_epochs(
            trainer.start_epoch,
            trainer.cfg.epochs,
            trainer.steps,
            trainer.step,
            trainer.end_epoch,
            quiet,
            begin=trainer.begin_epoch,
            images_per_step=trainer.images_per_step,
        )
    finally:
        trainer.log.close()
    return finish(trainer)


@dataclass
class GanTrainer:
    """The state of one GAN run and the named steps of its loop. One iteration is
    `n_critic` D steps, each on its own batch of real images and noise, then one G step on
    the last D step's generated images (with n_critic 1: DCGAN's loop)."""

    cfg: GanConfig
    quiet: bool
    run: RunDir
    device: torch.device
    precision: str
    domain: Domain
    images: tuple[torch.Tensor, torch.Tensor]  # the training images and labels, on the device
    game: Game
    players: Players
    average: WeightAverage | None
    identity: dict[str, Any]
    fingerprint: str
    start_epoch: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0
    stream: IndexStream | None = None
    log: IO | None = None
    writer: Any = None
    recent: list[list[float]] = field(default_factory=list)  # the last rows, for the game's collapse rule
    sums: torch.Tensor = field(default_factory=lambda: torch.zeros(4))

    @property
    def sampler(self) -> Generator:
        """What draws the grids and is measured: the weight average, or G itself."""
        return self.average.model if self.average else self.players.g

    @property
    def images_per_step(self) -> int:
        return self.cfg.batch_size * self.cfg.n_critic

    # --- the loop's steps ---

    def begin_epoch(self, epoch: int) -> None:
        self.sums.zero_()

    def step(self, epoch: int, i: int) -> dict[str, str] | None:
        it = epoch * self.steps + i
        n = self.cfg.n_critic
        critic = torch.zeros(3)
        with autocast(self.precision, self.device):
            for k in range(n):
                real, y, z, noise = self.draw(it * n + k)
                if k < n - 1:  # only the last D step's images are G's to learn from
                    with torch.no_grad():
                        fake = self.players.g(z, y)
                else:
                    fake = self.players.g(z, y)
                done = self.game.d_step(self.players, real, y, fake, noise)
                scores = self.game.scores(done.d_real, done.d_fake)
                critic += torch.stack([done.loss_d.detach().float(), *(v.detach().float() for v in scores)]).cpu()
            loss_g = self.game.g_step(self.players, fake, y)
        if self.average:
            self.average.update(it)
        critic /= n
        values = torch.stack([critic[0], loss_g.detach().float().cpu(), critic[1], critic[2]])
        try:
            check_finite(values, "a loss")
        except NonFiniteLoss as e:
            raise diverged(e, f"iteration {it + 1}", self.run, epoch) from None
        self.record(it, epoch, values)
        return {"loss_d": f"{values[0]:.3f}", "loss_g": f"{values[1]:.3f}"} if i % 20 == 0 else None

    def draw(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Generator]:
        """Batch number `batch`'s real images, labels and noise (z first; the game draws the
        rest from the same generator). Noise is drawn on the CPU: the same on every device."""
        idx = self.stream.indices(batch).to(self.device)
        x, y = self.images
        noise = step_generator(self.cfg.seed, batch)
        z = torch.randn(self.cfg.batch_size, self.cfg.z_dim, generator=noise).to(self.device)
        return to_unit_range(x[idx]), y[idx], z, noise

    def record(self, it: int, epoch: int, values: torch.Tensor) -> None:
        """The iteration's row of losses.csv, the epoch's sums, and the game's collapse rule."""
        self.sums.add_(values)
        row = values.tolist()
        self.writer.writerow([it + 1, epoch + 1, *(f"{v:.5f}" for v in row)])
        self.recent = (self.recent + [row])[-COLLAPSE_WINDOW:]
        if not any(COLLAPSED in w for w in self.warnings):
            x = self.images[0]
            warning = self.game.collapse(self.recent, self.cfg.spec.pack * x[0].numel())
            if warning:
                self.warnings.append(f"iteration {it + 1}: {warning}")
                print(f"warning: {self.warnings[-1]}", flush=True)

    def end_epoch(self, epoch: int, epoch_seconds: float) -> None:
        self.log.flush()
        self.seconds += epoch_seconds
        draw_grids(self.sampler, self.cfg, self.run, f"samples_epoch{epoch + 1:03d}.png", zy=False)
        p = self.players
        state = {
            "g": p.g.state_dict(),
            "d": p.d.state_dict(),
            "opt_g": p.opt_g.state_dict(),
            "opt_d": p.opt_d.state_dict(),
            "g_sampler": self.sampler.state_dict(),
            "g_args": p.g.constructor_args(),
            "identity": self.identity,
            "epoch": epoch + 1,
            "warnings": self.warnings,
            "seconds": self.seconds,
        }
        save_checkpoint(state, self.run.file(CHECKPOINT))
        m = (self.sums / self.steps).tolist()
        print(
            f"epoch {epoch + 1:>3}/{self.cfg.epochs} | loss_D {m[0]:.3f} loss_G {m[1]:.3f} | D(x) {m[2]:.3f} D(G(z)) "
            f"{m[3]:.3f} | {epoch_seconds:.1f}s {self.steps * self.images_per_step / epoch_seconds:.0f} img/s",
            flush=True,
        )


def start(cfg: GanConfig, resume: bool, quiet: bool) -> GanTrainer:
    """A run's trainer: the run directory, data, networks and optimisers, restored from
    the checkpoint on --resume, with losses.csv cut back to what the checkpoint holds."""
    set_threads(cfg.threads)
    run = open_run(cfg.run_dir(), resume, "losses.csv", "gan")
    domain = load_domain(cfg.dataset, cfg.data_dir, quiet=quiet)
    train = domain.train.subset(cfg.train_subset)
    if cfg.batch_size > len(train):
        raise AdvlabError(f"batch size {cfg.batch_size} is larger than the {len(train)} training images")
    if cfg.batch_size * cfg.n_critic > len(train):
        raise AdvlabError(
            f"an iteration takes {cfg.n_critic} batches of {cfg.batch_size} ({cfg.n_critic} D steps), more than the "
            f"{len(train)} training images"
        )
    if cfg.spec.d_conditioning == "channels" and domain.num_classes > MAX_LABEL_CHANNELS:
        raise AdvlabError(
            f"{cfg.dataset} has {domain.num_classes} classes: D conditioned by channels would stack "
            f"{domain.num_classes} label maps on every image; use --d-conditioning projection (or an unconditional "
            "variant)"
        )
    g, d = build_models(cfg, domain.num_classes, train.x.shape[1])
    device = resolve_device(cfg.device)
    g.to(device)
    d.to(device)
    betas = (cfg.beta1, cfg.beta2)
    players = Players(
        g,
        d,
        torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=betas, fused=True),
        torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=betas, fused=True),
        domain.num_classes,
        cfg.spec.mismatch,
    )
    fingerprint = data_fingerprint(domain.train)  # which data the run learns (and its metrics must come from)
    trainer = GanTrainer(
        cfg,
        quiet,
        run,
        device,
        resolve_precision(cfg.precision, device),
        domain,
        (train.x.to(device), train.y.to(device)),  # the data stay where the models are
        cfg.game(),
        players,
        WeightAverage(g, cfg.ema) if cfg.ema else None,
        identity(dataclasses.asdict(cfg), {"dataset": fingerprint}),
        fingerprint,
    )
    if resume:
        restore(trainer)
    run.write_text("config.yaml", to_yaml(dataclasses.asdict(cfg)))
    trainer.steps = len(train) // trainer.images_per_step
    trainer.stream = IndexStream(len(train), cfg.batch_size, cfg.seed)
    kept = _read_losses(run.file("losses.csv"), trainer.start_epoch * trainer.steps)
    trainer.log = open(run.file("losses.csv"), "w", newline="")
    trainer.writer = csv.writer(trainer.log)
    trainer.writer.writerows([LOSS_COLUMNS, *kept])
    trainer.recent = [[float(v) for v in r[2:]] for r in kept[-COLLAPSE_WINDOW:]]
    return trainer


def restore(trainer: GanTrainer) -> None:
    """Continue from the run's checkpoint, which must be this run's own (same options and data)."""
    cfg, run, p = trainer.cfg, trainer.run, trainer.players
    last = run.file(CHECKPOINT)
    if not last.exists():
        if not trainer.quiet:
            print(f"nothing to resume in {run.path} yet (no checkpoint): starting from the first epoch")
        return
    state = load_checkpoint(last)
    if "g" not in state or "g_sampler" not in state:
        raise AdvlabError(f"{last} is not an advlab gan checkpoint")
    config = run.file("config.yaml")
    saved = resolve(GanConfig, {}, base=recorded_options(config)).settled() if config.exists() else None
    # a checkpoint from before identities: the data are compared by name, in config.yaml
    by_content = ("dataset",) if "identity" in state else ()
    check_resume(run, saved, cfg, int(state["epoch"]), by_content)
    if by_content:
        check_identity(run, state["identity"], trainer.identity, {"dataset": cfg.dataset})
    try:
        for module, key in (
            (p.g, "g"),
            (p.d, "d"),
            (p.opt_g, "opt_g"),
            (p.opt_d, "opt_d"),
            (trainer.sampler, "g_sampler"),
        ):
            module.load_state_dict(state[key])
    except (RuntimeError, ValueError, KeyError):
        raise AdvlabError(
            f"{last} does not fit this run's networks (another run's checkpoint?); start a new run with another --out"
        ) from None
    trainer.start_epoch, trainer.warnings = int(state["epoch"]), list(state["warnings"])
    trainer.seconds = float(state["seconds"])


def _read_losses(path: Path, upto: int) -> list[list[str]]:
    if not path.exists():
        return []
    with open(path) as f:
        rows = list(csv.reader(f))
    # a run killed mid-write can leave a cut-off last line: only whole rows up to the checkpoint stay
    return [r for r in rows[1:] if len(r) == len(LOSS_COLUMNS) and r[0].isdigit() and int(r[0]) <= upto]


def finish(trainer: GanTrainer) -> dict[str, Any]:
    """The final grids and loss curves, the quality metrics of the sampler, summary.json."""
    cfg, run, spec = trainer.cfg, trainer.run, trainer.cfg.spec
    draw_grids(trainer.sampler, cfg, run, "samples_final.png", zy=True)
    plot_losses([run.path], run.file("losses.png"))
    summary = {
        "variant": cfg.variant,
        "loss": spec.loss,
        "d_conditioning": spec.d_conditioning,
        "pack": spec.pack,
        "spectral_norm": spec.spectral_norm,
        "d_batch_norm": spec.d_normalised,
        "n_critic": cfg.n_critic,
        "scores": trainer.game.score,  # what d_x and d_g_z in losses.csv are
        "dataset": cfg.dataset,
        "device": str(trainer.device),
        "precision": trainer.precision,
        "epochs": cfg.epochs,
        "seed": cfg.seed,
        "mismatch": spec.mismatch,
        "seconds": trainer.seconds,
        "seconds_per_epoch": trainer.seconds / cfg.epochs,
        "images_per_epoch": trainer.steps * trainer.images_per_step,
        "warnings": trainer.warnings,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "data_fingerprint": trainer.fingerprint,
    }
    if cfg.gp_weight is not None:
        summary["gp_weight"] = cfg.gp_weight
    if not cfg.eval_samples:
        summary["no_metrics"] = "--eval-samples 0"
    else:
        why = unscorable(trainer.players.g, cfg.dataset, cfg.data_dir, trainer.quiet)
        if why:
            summary["no_metrics"] = why
        else:
            summary |= evaluate_run(
                trainer.sampler,
                cfg.dataset,
                cfg.data_dir,
                cfg.eval_samples,
                cfg.seed,
                trainer.fingerprint,
                trainer.device,
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
