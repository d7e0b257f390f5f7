"""Backbones, one file each; this registry is the only list of them.

Adding a backbone: write `backbones/<name>.py` with a `Backbone` subclass (base.py says what
it must provide), add it to `BACKBONES` below, and add
`tests/backbones/test_<name>.py`. Its options appear as --flags of `advlab adapt` and in
config.yaml by themselves, and every method runs with it.
"""

from __future__ import annotations

from typing import Any

from advlab.backbones.base import Backbone
from advlab.backbones.dirtt_small import DirttSmall
from advlab.backbones.dtn import DTN
from advlab.backbones.ganin import GaninNet
from advlab.backbones.ganin_bn import GaninBN
from advlab.backbones.lenet import LeNet

DEFAULT = "ganin"
BACKBONES: dict[str, type[Backbone]] = {b.name: b for b in (GaninNet, GaninBN, LeNet, DTN, DirttSmall)}


def build_backbone(name: str, args: dict[str, Any]) -> Backbone:
    """The backbone a checkpoint recorded: its registry name and constructor arguments."""
    if name not in BACKBONES:
        raise KeyError(name)
    return BACKBONES[name](**args)


__all__ = ["BACKBONES", "DEFAULT", "Backbone", "build_backbone"]
