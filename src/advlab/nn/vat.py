"""Virtual adversarial training (Miyato, Maeda, Koyama & Ishii, TPAMI 2018) and the
conditional entropy it is paired with in VADA and DIRT-T (Shu et al., ICLR 2018).

VAT asks the classifier to be smooth around each input: it finds, by one power iteration,
the perturbation r of norm `radius` that changes the prediction most (the direction of the
KL's gradient at a tiny random step xi * d), then penalises KL(p(x) || p(x + r)) with p(x)
held fixed. It needs no label, so it applies to target images as well as source ones.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

XI = 1e-6  # the size of the probing step (RuiShu/dirt-t and Miyato et al.'s code)


def per_image_unit(d: torch.Tensor) -> torch.Tensor:
    """Each image's tensor scaled to L2 norm 1 (over all its channels and pixels)."""
    norms = d.flatten(1).norm(dim=1).clamp_min(1e-12)
    return d / norms.view(-1, *([1] * (d.dim() - 1)))


def kl_from_logits(p_logits: torch.Tensor, q_logits: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of KL(softmax(p) || softmax(q))."""
    p = F.softmax(p_logits, dim=1)
    return (p * (F.log_softmax(p_logits, dim=1) - F.log_softmax(q_logits, dim=1))).sum(1).mean()


def adversarial_direction(
    predict: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, logits: torch.Tensor, start: torch.Tensor
) -> torch.Tensor:
    """The unit direction (per image) that increases KL(p(x) || p(x + r)) fastest, from one
    power iteration started at the random direction `start`. Computed in fp32 whatever the
    autocast: a step of 1e-6 vanishes in bf16."""
    with torch.autocast(x.device.type, enabled=False):
        d = (XI * per_image_unit(start.to(x.device, torch.float32))).requires_grad_(True)
        kl = kl_from_logits(logits.detach().float(), predict(x.float() + d).float())
        (grad,) = torch.autograd.grad(kl, d)
    return per_image_unit(grad.detach())


def vat_loss(
    predict: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    logits: torch.Tensor,
    radius: float,
    start: torch.Tensor,
) -> torch.Tensor:
    """KL(p(x) || p(x + r_adv)), r_adv of L2 norm `radius` per image; p(x) (`logits`, the
    clean prediction) gets no gradient. `predict` maps the model's normalised input to logits."""
    r = radius * adversarial_direction(predict, x, logits, start)
    return kl_from_logits(logits.detach(), predict(x + r.to(x.dtype)))


def conditional_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean entropy (nats) of the predicted class distributions: low when the classifier is
    confident, which pushes its decision boundaries away from dense regions of the data."""
    return -(F.softmax(logits, dim=1) * F.log_softmax(logits, dim=1)).sum(1).mean()
