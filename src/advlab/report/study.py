"""What the study runs: the profiles and the list of `advlab adapt` / `advlab gan` runs.

Each run is a plain command line with its own run directory, so a study can be stopped
and restarted at any point: finished runs are skipped and unfinished ones resumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from advlab.gan.names import PRACTICAL, REMEDIES
from advlab.tune import DEFAULT_METHODS as TUNE_METHODS  # what the study's tune run searches

SWEEP_CONSTANT_LAMBDAS = (0.0, 0.03, 0.1, 0.3, 1.0, 3.0)
SWEEP_RAMP_GAMMAS = (2.0, 10.0)
MAIN_METHODS = ("source_only", "dann", "target_only", "dann_no_grl")
# beside DANN, at the same budget: the adversarial and statistic-matching methods, then the self-training family
COMPARED_METHODS = (
    "cdan",
    "cdan_e",
    "dan",
    "coral",
    "mcc",
    "mdd",
    "mcd",
    "adda",
    "vada",
    "mean_teacher",
    "fixmatch",
    "adamatch",
)
# two-stage methods -> the run (same seed) they refine; their second stage is half the budget more
REFINEMENTS = {"dirtt": "vada", "shot": "source_only"}
PSEUDO_LABEL_INITS = ("source_only", "dann")


@dataclass(frozen=True)
class Profile:
    name: str
    about: str
    seeds: tuple[int, ...]
    epochs: int  # the main comparison
    long_epochs: int  # dann's longer schedule (accuracy curves)
    sweep_epochs: int  # each setting of the reversal-factor sweep (seed 0)
    pl_rounds: int
    pl_epochs_per_round: int
    pl_threshold: float
    pl_threshold_sweep: tuple[float, ...]  # from dann, seed 0
    gan_epochs: int
    gan_seeds: tuple[int, ...]
    gan_eval_samples: int  # 0: no GAN quality metrics (no evaluator needed)
    embed_samples: int  # per domain, for t-SNE and the proxy A-distance
    train_subset: int | None = None
    test_subset: int | None = None
    gan_train_subset: int | None = None
    # the reversal-factor sweep (seed 0, dann): constant lambdas and ramp gammas
    sweep_lambdas: tuple[float, ...] = SWEEP_CONSTANT_LAMBDAS
    sweep_gammas: tuple[float, ...] = SWEEP_RAMP_GAMMAS
    # `advlab tune` over TUNE_METHODS: trials, and each trial's epochs and training images per domain
    tune_trials: int = 12
    tune_trial_epochs: int = 3
    tune_trial_subset: int = 10000
    tune_extra: tuple[str, ...] = ()  # further tune options (the smoke profile's small validation sets)


PROFILES = {
    "quick": Profile(
        "quick",
        "8k training images per domain, a few epochs (the sweep one), one seed, GANs one epoch on 20k images: the "
        "shape of every result in minutes (the GANs are far from converged)",
        seeds=(0,),
        epochs=3,
        long_epochs=4,
        sweep_epochs=1,
        pl_rounds=2,
        pl_epochs_per_round=1,
        pl_threshold=0.9,
        pl_threshold_sweep=(0.8, 0.95),
        gan_epochs=1,
        gan_seeds=(0,),
        gan_eval_samples=2000,
        embed_samples=500,
        train_subset=8000,
        test_subset=2000,
        gan_train_subset=20000,
        tune_trial_subset=8000,
    ),
    "full": Profile(
        "full",
        "the practicals' settings: all images, 20 epochs (30 for the longer schedule), GANs 5 epochs, 3 seeds",
        seeds=(0, 1, 2),
        epochs=20,
        long_epochs=30,
        sweep_epochs=6,
        pl_rounds=2,
        pl_epochs_per_round=2,
        pl_threshold=0.9,
        pl_threshold_sweep=(0.8, 0.95, 0.99),
        gan_epochs=5,
        gan_seeds=(0, 1, 2),
        gan_eval_samples=10000,
        embed_samples=2000,
    ),
    "smoke": Profile(
        "smoke",
        "for tests only: a few hundred images, one epoch; the numbers mean nothing",
        seeds=(0,),
        epochs=1,
        long_epochs=2,
        sweep_epochs=1,
        pl_rounds=1,
        pl_epochs_per_round=1,
        pl_threshold=0.0,
        pl_threshold_sweep=(0.1,),
        gan_epochs=1,
        gan_seeds=(0,),
        gan_eval_samples=0,
        embed_samples=150,
        train_subset=600,
        test_subset=300,
        gan_train_subset=640,
        # half the sweep: enough for every branch of the report, four processes fewer in the suite
        sweep_lambdas=(0.0, 0.1, 1.0),
        sweep_gammas=(2.0,),
        tune_trials=2,
        tune_trial_epochs=1,
        tune_trial_subset=600,
        tune_extra=("--val-size", "100", "--validation-size", "150"),
    ),
}


@dataclass(frozen=True)
class Run:
    name: str  # also its directory under DIR/runs
    command: tuple[str, ...]  # `advlab` arguments, without --out / --threads / --resume
    after: tuple[str, ...] = field(default=())  # runs whose results it starts from


def _adapt(p: Profile, method: str, seed: int, epochs: int, *extra: str) -> tuple[str, ...]:
    subsets = (["--train-subset", str(p.train_subset)] if p.train_subset else []) + (
        ["--test-subset", str(p.test_subset)] if p.test_subset else []
    )
    return ("adapt", "--method", method, "--seed", str(seed), "--epochs", str(epochs), *subsets, *extra)


def tune_command(p: Profile) -> tuple[str, ...]:
    """Label-free tuning of TUNE_METHODS at the profile's trial budget: its answer may be "do not adapt"."""
    return (
        "tune",
        "--methods",
        ",".join(TUNE_METHODS),
        "--trials",
        str(p.tune_trials),
        "--trial-epochs",
        str(p.tune_trial_epochs),
        "--trial-subset",
        str(p.tune_trial_subset),
        *p.tune_extra,
    )


def compared_epochs(p: Profile, method: str) -> int:
    """The comparison's budget; ADDA splits its epochs into source pre-training and adaptation,
    so it needs two (the smoke profile's one epoch left it no source epoch: refused)."""
    return max(p.epochs, 2) if method == "adda" else p.epochs


def refinement_epochs(p: Profile) -> int:
    """A two-stage method's second stage: half the comparison's budget (at least an epoch)."""
    return max(1, p.epochs // 2)


def pseudo_label_name(init: str, seed: int, threshold: float, profile: Profile) -> str:
    return f"pl-{init}-s{seed}" + ("" if threshold == profile.pl_threshold else f"-t{threshold:g}")


def plan(p: Profile) -> list[Run]:
    runs = [Run(f"{m}-s{s}", _adapt(p, m, s, p.epochs)) for s in p.seeds for m in MAIN_METHODS]
    runs += [Run(f"{m}-s{s}", _adapt(p, m, s, compared_epochs(p, m))) for s in p.seeds for m in COMPARED_METHODS]
    runs += [
        Run(
            f"{m}-s{s}",
            _adapt(p, m, s, refinement_epochs(p), "--init", f"{{runs}}/{first}-s{s}"),
            after=(f"{first}-s{s}",),
        )
        for s in p.seeds
        for m, first in REFINEMENTS.items()
    ]
    runs += [Run(f"dann-long-s{s}", _adapt(p, "dann", s, p.long_epochs)) for s in p.seeds]
    runs += [
        Run(
            f"sweep-lambda{lam:g}",
            _adapt(p, "dann", 0, p.sweep_epochs, "--lambda-schedule", "constant", "--lambda-max", f"{lam:g}"),
        )
        for lam in p.sweep_lambdas
    ]
    runs += [
        Run(f"sweep-gamma{gamma:g}", _adapt(p, "dann", 0, p.sweep_epochs, "--gamma", f"{gamma:g}"))
        for gamma in p.sweep_gammas
    ]

    def pseudo(init: str, seed: int, threshold: float) -> Run:
        epochs = p.pl_rounds * p.pl_epochs_per_round
        extra = ("--init", f"{{runs}}/{init}-s{seed}", "--rounds", str(p.pl_rounds), "--pl-threshold", f"{threshold:g}")
        return Run(
            pseudo_label_name(init, seed, threshold, p),
            _adapt(p, "pseudo_label", seed, epochs, *extra),
            after=(f"{init}-s{seed}",),
        )

    runs += [pseudo(init, s, p.pl_threshold) for init in PSEUDO_LABEL_INITS for s in p.seeds]
    runs.append(Run("tune", tune_command(p)))
    runs += [pseudo("dann", p.seeds[0], t) for t in p.pl_threshold_sweep if t != p.pl_threshold]
    gan_subset = ["--train-subset", str(p.gan_train_subset)] if p.gan_train_subset else []
    runs += [
        Run(
            f"gan-{v}-s{s}",
            (
                "gan",
                "--" + v.replace("_", "-"),
                "--seed",
                str(s),
                "--epochs",
                str(p.gan_epochs),
                "--eval-samples",
                str(p.gan_eval_samples),
                *gan_subset,
            ),
        )
        for v in PRACTICAL
        for s in p.gan_seeds
    ]
    runs += [
        Run(
            f"gan-{v}-s{s}",
            (
                "gan",
                "--variant",
                v,
                "--seed",
                str(s),
                "--epochs",
                str(p.gan_epochs),
                "--eval-samples",
                str(p.gan_eval_samples),
                *gan_subset,
            ),
        )
        for v in REMEDIES
        for s in p.gan_seeds
    ]
    return runs
