"""Passes that normalise by their own batch but leave batch norm's running statistics alone.

A batch-norm layer in training mode normalises by the batch and folds that batch's mean and
variance into its running averages, which evaluation then uses. A method that sends several
kinds of batch through the network in one step decides which of them evaluation should
reflect: VADA and DIRT-T (RuiShu/dirt-t) update the averages from the clean target batch
alone (`internal_update=True` on that pass only), so the evaluated network normalises by
target statistics, and their source, VAT and pseudo-label passes leave them alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def running_stats_kept(module: nn.Module) -> Iterator[None]:
    """Inside, every batch-norm layer of `module` that keeps running statistics normalises by
    the batch as in training and updates neither its running mean and variance nor its batch
    count; outside, they track again. A network without batch norm is untouched."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    for m in norms:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m in norms:
            m.track_running_stats = True
