"""`advlab adapt`'s options: one dataclass for the command line and YAML files.

The options every method shares are written out here; each method and each backbone adds
its own (`Method.options`, `Backbone.options`), so a new one brings its flags with it. An
option of a method (a backbone) is an error with any other, and a run's config.yaml records
only the options of its own method and backbone.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from pathlib import Path

from advlab.backbones import BACKBONES
from advlab.backbones import DEFAULT as DEFAULT_BACKBONE
from advlab.config import check, file_values, load_yaml, option, shown
from advlab.data.augment import AUGMENTATIONS
from advlab.data.images import GEOMETRIES
from advlab.methods import METHODS
from advlab.nn.input import NORMALIZATIONS
from advlab.plugins import unknown
from advlab.runs.options import RunOptions
from advlab.train.schedules import LAMBDA_SCHEDULES, LR_SCHEDULES
from advlab.train.validation import SELECT_CHOICES


def owners(registry) -> dict[str, list[str]]:
    """Each option of a registry's classes -> the classes (names) that declare it (a subclass shares
    its parent's). Read at each call: a class registered later (a plugin, a user's) counts too."""
    found: dict[str, list[str]] = {}
    for cls in registry.values():
        for name in cls.options:
            found.setdefault(name, []).append(cls.name)
    return found


def foreign_options(method: str, names, backbone: str = DEFAULT_BACKBONE) -> list[str]:
    """Those of `names` that are options of methods other than `method`, or of backbones
    other than `backbone`."""
    methods, backbones = owners(METHODS), owners(BACKBONES)
    return [
        name
        for name in names
        if (name in methods and method not in methods[name]) or (name in backbones and backbone not in backbones[name])
    ]


def refuse_foreign_options(method: str, names, backbone: str = DEFAULT_BACKBONE) -> None:
    """An option of another method (or backbone) would be taken, recorded and do nothing: a mistake."""
    stray = foreign_options(method, names, backbone)
    methods, backbones = owners(METHODS), owners(BACKBONES)
    said_methods = [f"--{name.replace('_', '-')} ({', '.join(methods[name])})" for name in stray if name in methods]
    said = "is an option of another method" if len(said_methods) == 1 else "are options of other methods"
    check(not said_methods, f"{', '.join(said_methods)} {said}, not of method {method}")
    said_backbones = [f"--{name.replace('_', '-')} ({', '.join(backbones[name])})" for name in stray]
    said = "is an option of another backbone" if len(said_backbones) == 1 else "are options of other backbones"
    check(not said_backbones, f"{', '.join(said_backbones)} {said}, not of backbone {backbone}")


@dataclass
class _CommonOptions(RunOptions):
    """The options every method shares (after those of every training command); each
    method's own are added below."""

    method: str = option("dann", "adaptation method")  # its help and choices: adapt_config(), from the registry
    source: str = option("mnist", "labelled source domain: mnist, mnist_m, an image folder or an .npz")
    target: str = option("mnist_m", "target domain (its labels are used only to report accuracy)")
    backbone: str = option(DEFAULT_BACKBONE, "the network")  # as `method`
    geometry: str = option(
        "crop",
        "how images reach the backbone's input size: crop (the centre of a larger image; a smaller one is resized), "
        "resize (bilinear, antialiased), pad (a smaller image centred on black; a larger one cropped)",
        GEOMETRIES,
    )
    normalization: str = option("per_image", "input normalisation inside the model", NORMALIZATIONS)
    augment: str = option(
        "invert", "augmentation of labelled training images: none, or invert a random half", AUGMENTATIONS
    )
    epochs: int = option(12, "passes over the source training set")
    batch_size: int = option(64, "images per domain per step")
    optimizer: str = option("sgd", "sgd (momentum) or adam", ("sgd", "adam"))
    lr: float = option(0.01, "initial learning rate mu_0")
    momentum: float = option(0.9, "SGD momentum")
    weight_decay: float = option(0.0, "L2 weight decay")
    lr_schedule: str = option(
        "anneal", "anneal: mu_0/(1+alpha p)^beta; step: x0.1 at 50% and 75%; constant", LR_SCHEDULES
    )
    lr_alpha: float = option(10.0, "alpha of the annealing schedule")
    lr_beta: float = option(0.75, "beta of the annealing schedule")
    lambda_schedule: str = option(
        "ramp", "ramp: lambda_max (2/(1+exp(-gamma p)) - 1); constant: lambda_max", LAMBDA_SCHEDULES
    )
    gamma: float = option(10.0, "gamma of the lambda ramp")
    lambda_max: float = option(1.0, "scale of the reversal factor lambda")
    init: str | None = option(
        None, "start from the weights of this finished advlab adapt run (its selected checkpoint)"
    )
    trade_off: float = option(
        1.0,
        "weight of the adaptation loss of cdan, cdan_e, dan, coral, mcc, mdd and mcd, times lambda(p) (dann's weight "
        "is lambda itself)",
    )
    ema_decay: float = option(
        0.0,
        "decay of an exponential moving average of the weights, which is then what is evaluated, validated and kept "
        "as the result (0: none, the weights of the last step; VADA uses 0.998)",
    )
    val_size: int = option(1000, "source training images held out as a validation split (never target)")
    select: str = option(
        "last",
        "reported checkpoint: the last epoch, or the epoch a label-free validator scores best (source_val: source "
        "validation accuracy; entropy, im, snd, bnm, dev, devn, class_ami read no target label)",
        SELECT_CHOICES,
    )
    validation_size: int = option(
        1000, "target training images (labels never read) the label-free validators score every epoch; 0: none"
    )
    train_subset: int | None = option(None, "use only the first N training images of each domain (quick runs)")
    test_subset: int | None = option(None, "evaluate on only the first N test images of each domain")
    out: str | None = option(None, "run directory (default runs/<method>-<source>-<target>-s<seed>)")

    def validate(self) -> None:
        check(self.method in METHODS, f"unknown method {shown(self.method)}; choose from {', '.join(METHODS)}")
        check(
            self.backbone in BACKBONES, f"unknown backbone {shown(self.backbone)}; choose from {', '.join(BACKBONES)}"
        )
        own = {*owners(METHODS), *owners(BACKBONES)}
        set_options = [f.name for f in dataclasses.fields(self) if f.name in own and getattr(self, f.name) != f.default]
        refuse_foreign_options(self.method, set_options, self.backbone)
        BACKBONES[self.backbone].check(self)
        self.check_run_options()
        check(self.geometry in GEOMETRIES, f"geometry must be one of {', '.join(GEOMETRIES)}")
        check(self.augment in AUGMENTATIONS, f"augment must be one of {', '.join(AUGMENTATIONS)}")
        check(self.normalization in NORMALIZATIONS, f"normalization must be one of {', '.join(NORMALIZATIONS)}")
        check(self.epochs > 0, f"epochs must be > 0, got {self.epochs}")
        check(self.batch_size > 0, f"batch size must be > 0, got {self.batch_size}")
        check(self.lr > 0 and math.isfinite(self.lr), f"learning rate must be > 0 and finite, got {self.lr}")
        check(0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}")
        check(self.weight_decay >= 0, f"weight decay must be >= 0, got {self.weight_decay}")
        check(self.optimizer in ("sgd", "adam"), f"optimizer must be sgd or adam, got {shown(self.optimizer)}")
        check(self.lr_schedule in LR_SCHEDULES, f"lr schedule must be one of {', '.join(LR_SCHEDULES)}")
        check(self.lambda_schedule in LAMBDA_SCHEDULES, f"lambda schedule must be one of {', '.join(LAMBDA_SCHEDULES)}")
        check(self.gamma >= 0 and math.isfinite(self.gamma), f"gamma must be >= 0 and finite, got {self.gamma}")
        check(
            self.lambda_max >= 0 and math.isfinite(self.lambda_max),
            f"lambda max must be >= 0 and finite, got {self.lambda_max}",
        )
        check(self.lr_alpha >= 0 and self.lr_beta >= 0, "lr alpha and beta must be >= 0")
        check(
            self.trade_off >= 0 and math.isfinite(self.trade_off),
            f"trade off must be >= 0 and finite, got {self.trade_off}",
        )
        check(
            not METHODS[self.method].needs_init or self.init is not None,
            f"method {self.method} starts from a trained model: pass --init RUN_DIR",
        )
        for method in METHODS.values():
            method.check(self)
        check(0 <= self.ema_decay < 1, f"ema decay must be in [0, 1), got {self.ema_decay}")
        check(self.val_size >= 0, f"val size must be >= 0, got {self.val_size}")
        check(
            self.select in SELECT_CHOICES,
            f"select must be one of {', '.join(SELECT_CHOICES)}, got {shown(self.select)}",
        )
        check(
            self.select not in ("source_val", "dev", "devn") or self.val_size > 1,
            f"select {self.select} needs a source validation split (val size > 1)",
        )
        check(self.validation_size >= 0, f"validation size must be >= 0, got {self.validation_size}")
        check(
            self.select in ("last", "source_val") or self.validation_size > 0,
            f"select {self.select} needs validation size > 0",
        )
        check(
            self.select != "snd" or self.validation_size > 1,
            "select snd needs validation size > 1 (SND scores each image by its neighbours)",
        )
        for name in ("train_subset", "test_subset"):
            value = getattr(self, name)
            check(value is None or value > 0, f"{name.replace('_', ' ')} must be > 0, got {value}")

    @classmethod
    def chosen_defaults(cls, values: dict) -> dict:
        """The chosen method's own defaults of common options (`Method.defaults`: VADA's Adam
        at 1e-3, say): above the defaults here, below what a run recorded, a YAML file or the
        command line says."""
        method = METHODS.get(values.get("method", cls.method))
        return dict(method.defaults) if method is not None else {}

    def run_dir(self) -> Path:
        def short(spec: str) -> str:
            return Path(spec).stem if spec not in ("mnist", "mnist_m") else spec

        return Path(self.out or f"runs/{self.method}-{short(self.source)}-{short(self.target)}-s{self.seed}")

    def recorded(self) -> dict:
        """The options as config.yaml records them: the common ones, this method's and this backbone's own."""
        return {
            k: v for k, v in dataclasses.asdict(self).items() if not foreign_options(self.method, [k], self.backbone)
        }


def adapt_config() -> type:
    """`AdaptConfig`, all options of `advlab adapt`, for the methods and backbones registered now.

    Built on demand, not at import: a method or backbone registered after this module was
    imported (a plugin, a user's class) brings its options too. The same registries give the
    same class (so a config pickles and compares as before); a config made before a
    registration keeps the class it was made with."""
    return _adapt_config(tuple(METHODS.values()), tuple(BACKBONES.values()))


@functools.cache
def _adapt_config(methods: tuple[type, ...], backbones: tuple[type, ...]) -> type:
    chosen = [
        ("method", str, option("dann", _choices("adaptation method", methods), _names(methods))),
        ("backbone", str, option(DEFAULT_BACKBONE, _choices("the network", backbones), _names(backbones))),
    ]
    return dataclasses.make_dataclass(
        "AdaptConfig",
        chosen + _option_fields(methods) + _option_fields(backbones),
        bases=(_CommonOptions,),
        namespace={
            "__module__": __name__,
            "__doc__": "All options of `advlab adapt`: the common ones, then each method's, then each backbone's.",
        },
    )


def _option_fields(classes: tuple[type, ...]) -> list[tuple[str, type, dataclasses.Field]]:
    """The classes' options as dataclass fields, each once (a subclass shares its parent's)."""
    fields: dict[str, tuple[str, type, dataclasses.Field]] = {}
    for cls in classes:
        for name, (tp, field) in cls.options.items():
            fields.setdefault(name, (name, tp, field))
    return list(fields.values())


def _names(classes: tuple[type, ...]) -> tuple[str, ...]:
    return tuple(c.name for c in classes)


def _choices(what: str, classes: tuple[type, ...]) -> str:
    return f"{what}: " + "; ".join(f"{c.name}: {c.about}" for c in classes)


def taken_options() -> set[str]:
    """Every option name of `advlab adapt` now: what a newly registered class's options must avoid."""
    return {f.name for f in dataclasses.fields(adapt_config())}


def __getattr__(name: str):
    # `from advlab.train.config import AdaptConfig` reads the class of the registries as they are now
    if name == "AdaptConfig":
        return adapt_config()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_registered(values: dict, where: str | Path) -> None:
    """A run's recorded method and backbone are registered here, else one line naming the missing
    one and how to get it (before its options, which only that class declares, read as unknown keys)."""
    for kind, registry in (("method", METHODS), ("backbone", BACKBONES)):
        name = values.get(kind)
        check(not isinstance(name, str) or name in registry, f"{where}: {unknown(kind, name)}")


def recorded_options(path: str | Path) -> dict:
    """A run's config.yaml as typed option values, without other methods' options: runs
    from before they were refused recorded every method's (at their defaults, unless a user
    gave one, which did nothing), and they never were part of the run."""
    data = load_yaml(path)
    check_registered(data, path)
    values = file_values(adapt_config(), data, path)
    method, backbone = values.get("method", _CommonOptions.method), values.get("backbone", DEFAULT_BACKBONE)
    return {k: v for k, v in values.items() if not foreign_options(method, [k], backbone)}
