"""The two baselines: `source_only` (the naive model) and `target_only` (trained on target
labels: the upper bound, never an adaptation result)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from advlab.methods.base import LR_SPACE, Batch, Method, Needs, StepInfo


class SourceOnly(Method):
    name = "source_only"
    about = "cross-entropy on source labels only: what adaptation must beat"
    search_space = LR_SPACE  # nothing to adapt: the learning rate alone
    needs = Needs(source=True, target=False)

    def loss(self, batch: Batch, info: StepInfo) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cls = F.cross_entropy(self.model(batch.xs), batch.ys)
        return cls, {"cls": cls}


class TargetOnly(Method):
    name = "target_only"
    about = "cross-entropy on target labels: the upper bound (reads target labels)"
    needs = Needs(source=False, target=True, target_labels=True)

    def loss(self, batch: Batch, info: StepInfo) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cls = F.cross_entropy(self.model(batch.xt), batch.yt)
        return cls, {"cls": cls}
