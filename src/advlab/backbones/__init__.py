"""Backbones, one file each; this registry is the only list of them.

Adding a backbone: write `backbones/<name>.py` with a `Backbone` subclass (base.py says what
it must provide), add it to `BACKBONES` below, and add
`tests/backbones/test_<name>.py`. Its options appear as --flags of `advlab adapt` and in
config.yaml by themselves, and every method runs with it. A backbone from outside advlab (another
package's, through the entry-point group `advlab.backbones`, or a user's own class) joins it with
`register` (advlab.plugins checks it).
"""

from __future__ import annotations

from typing import Any

from advlab.backbones.base import Backbone
from advlab.backbones.dirtt_small import DirttSmall
from advlab.backbones.dtn import DTN
from advlab.backbones.ganin import GaninNet
from advlab.backbones.ganin_bn import GaninBN
from advlab.backbones.lenet import LeNet
from advlab.plugins import Registry, add

DEFAULT = "ganin"
BACKBONES: dict[str, type[Backbone]] = Registry({b.name: b for b in (GaninNet, GaninBN, LeNet, DTN, DirttSmall)})


def register(cls: type[Backbone]) -> type[Backbone]:
    """Add a backbone to advlab (its --flags and config fields come with it) and return it, so that
    `@advlab.backbones.register` decorates a class. Its `name` is its own, lowercase; each of its
    options is named `<name>_...`; its `constructor_args()` must rebuild it, since that is all a
    checkpoint records. A bad class is a TypeError or ValueError in one sentence."""
    return add(BACKBONES, Backbone, "backbone", cls)


def build_backbone(name: str, args: dict[str, Any]) -> Backbone:
    """The backbone a checkpoint recorded: its registry name and constructor arguments."""
    if name not in BACKBONES:
        raise KeyError(name)
    return BACKBONES[name](**args)


__all__ = ["BACKBONES", "DEFAULT", "Backbone", "build_backbone", "register"]
