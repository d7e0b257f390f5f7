"""DAN (Long, Cao, Wang & Jordan, "Learning Transferable Features with Deep Adaptation
Networks", ICML 2015): multi-kernel MMD between source and target representations.

DAN adds MK-MMD^2 on the task-specific layers (AlexNet's fc6-fc8). Here those are the
backbone's features and each layer of its classifier (on Ganin's network: the 768 features,
G_y's two hidden layers and its logits). The kernel is a
sum of Gaussians exp(-||x - y||^2 / (2 s)) whose bandwidths s are 2^k times the median
squared pairwise distance of the joint batch, k = -2..2 (the paper: "varying bandwidth
... 2^k times the median"; TLlib uses 2^k times the mean, k = -3..1). MMD^2 is the biased
(V-statistic) estimate over the whole batch: exactly 0 for identical sets, never negative.
Trade-off 1 (TLlib's default), times lambda(p).

The gradient flows through the bandwidth (TLlib and the paper's Caffe code detach it; the
paper fixes it from the data). A bandwidth taken from the batch makes MMD^2 blind to the
layer's scale, but detached, its gradient is not: at a fixed bandwidth, shrinking a layer
always lowers MMD^2, so every step pulls the layer towards 0 with a force that grows as
1/scale, the bandwidth follows it down, and the ReLUs die. Trained from scratch (no
pretrained features or batch norm to hold the scale) this took G_f to all-zero features
within a few dozen steps: MMD^2 exactly 0, cross-entropy above ln 10, source at chance
(issue 22). Through the bandwidth, MMD^2 is a scale-free function, its gradient has no
component along the layer's scale (Euler), and it can only be lowered by aligning.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from advlab.methods.base import LR_SPACE, TRADE_OFF_RANGE, Batch, Method, StepInfo, joint_features

BANDWIDTH_POWERS = (-2, -1, 0, 1, 2)


def gaussian_kernel_sum(x: torch.Tensor, powers=BANDWIDTH_POWERS) -> torch.Tensor:
    """Sum over bandwidths of Gaussian kernel matrices of the rows of x, (N, N). The bandwidths
    follow the batch's median squared distance, gradient included: the sum is unchanged when
    x is scaled, and so is the MMD built on it."""
    sq = torch.cdist(x, x).pow(2)
    base = sq[~torch.eye(len(x), dtype=torch.bool, device=x.device)].median().clamp_min(1e-8)
    return sum(torch.exp(-sq / (2 * base * 2.0**k)) for k in powers)


def mmd2(source: torch.Tensor, target: torch.Tensor, powers=BANDWIDTH_POWERS) -> torch.Tensor:
    """Biased multi-kernel MMD^2 between two sets of rows."""
    n = len(source)
    k = gaussian_kernel_sum(torch.cat([source, target]), powers)
    return k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean()


def layer_outputs(classifier: nn.Module, features: torch.Tensor) -> list[torch.Tensor]:
    """The features, then the output of each (leaky) ReLU of the classifier, then its logits,
    each flattened to one row per image. A classifier that is not a sequence of layers gives
    the features and the logits."""
    if not isinstance(classifier, nn.Sequential):
        return [features.flatten(1), classifier(features)]
    outputs, h = [features.flatten(1)], features
    for layer in classifier:
        h = layer(h)
        if isinstance(layer, (nn.ReLU, nn.LeakyReLU)):
            outputs.append(h.flatten(1))
    return outputs + [h]


class DAN(Method):
    name = "dan"
    batch_statistic = "MMD between the two batches"
    about = "multi-kernel MMD between source and target on the features and every layer of G_y (Long et al. 2015)"
    search_space = {**LR_SPACE, "trade_off": TRADE_OFF_RANGE}  # Long et al. use 1 (base.py says why this range)

    def loss(self, batch: Batch, info: StepInfo):
        n = len(batch.xs)
        layers = layer_outputs(self.model.classifier, joint_features(self.model, batch))
        cls = F.cross_entropy(layers[-1][:n], batch.ys)
        mmd = sum(mmd2(h[:n], h[n:]) for h in layers)
        return cls + self.cfg.trade_off * info.lam * mmd, {"cls": cls, "mmd": mmd}
