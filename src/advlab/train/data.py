"""The data of an `advlab adapt` run: both domains at the backbone's size, the source
validation split, the subsets, the content keys that identify them, and the run's class names."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from advlab.backbones import BACKBONES
from advlab.data.classes import refuse_other_classes
from advlab.data.domains import Domain, Split, given_classes, load_domain
from advlab.errors import AdvlabError
from advlab.gan.evaluator import data_fingerprint

if TYPE_CHECKING:
    from advlab.train.config import AdaptConfig


@dataclass
class Data:
    source_train: Split
    source_val: Split
    source_test: Split
    target_train: Split
    target_test: Split
    num_classes: int
    fingerprints: dict[str, str]  # "source" / "target" -> the content key of the domain as loaded
    classes: tuple[str, ...]  # one name per label, what predict and evaluate say
    classes_given: bool  # named by a domain's data (not advlab's defaults): an evaluation domain must agree


def domain_fingerprint(domain: Domain) -> str:
    """A content key of a domain's images and labels as loaded (after --geometry), training
    and test split. The split, subsets and seed that select from it are options of the run,
    so a run that another run's checkpoint fits reads the same images (whatever their path)."""
    keys = data_fingerprint(domain.train) + data_fingerprint(domain.test)
    return hashlib.sha256(keys.encode()).hexdigest()[:16]


def prepare_data(cfg: AdaptConfig, quiet: bool) -> Data:
    """Both domains at the backbone's input size (--geometry says how they get there), and
    the run's class names: the source's, or the target's where only the target's data name them."""
    check_classes(cfg)
    size = BACKBONES[cfg.backbone].input_size
    source = load_domain(cfg.source, cfg.data_dir, cfg.geometry, quiet, size)
    target = load_domain(cfg.target, cfg.data_dir, cfg.geometry, quiet, size)
    if source.num_classes != target.num_classes:
        raise AdvlabError(
            f"source {source.name} has {source.num_classes} classes but target {target.name} has {target.num_classes}"
        )
    source_train, source_val = split_validation(source, cfg.val_size, cfg.seed)
    named = source if source.classes_given or not target.classes_given else target
    return Data(
        source_train.subset(cfg.train_subset),
        source_val,
        source.test.subset(cfg.test_subset),
        target.train.subset(cfg.train_subset),
        target.test.subset(cfg.test_subset),
        source.num_classes,
        {"source": domain_fingerprint(source), "target": domain_fingerprint(target)},
        named.classes,
        named.classes_given,
    )


def check_classes(cfg: AdaptConfig) -> None:
    """Refuse a source and target whose data both name their classes, differently: the target's
    labels would mean other classes, and every target accuracy would be wrong. Read without
    the images, so that `advlab adapt` refuses before it writes a file."""
    source, target = given_classes(cfg.source), given_classes(cfg.target)
    if source is not None and target is not None:
        refuse_other_classes(source, f"source {cfg.source}", target, f"target {cfg.target}")


def training_images_said(cfg: AdaptConfig, from_source: bool) -> str:
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
