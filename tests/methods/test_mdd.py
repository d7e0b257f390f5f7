import math

import torch

from advlab.methods.mdd import disparity_discrepancy
from methods.helpers import build, grads, has_gradient, info, small_batch


def test_disparity_discrepancy_by_hand():
    y_s = torch.tensor([[2.0, 0.0]])  # predicts class 0
    y_t = torch.tensor([[0.0, 2.0]])  # predicts class 1
    adv_s = torch.tensor([[0.0, 0.0]])  # p = 0.5 for class 0: CE = log 2
    adv_t = torch.tensor([[0.0, math.log(3.0)]])  # p = 0.75 for class 1: log(1 - 0.75)
    value = disparity_discrepancy(y_s, adv_s, y_t, adv_t, margin=4.0)
    assert abs(value.item() - (-4 * math.log(2) + math.log(0.25))) < 1e-4


def test_adversary_maximises_and_features_minimise():
    """The auxiliary head descends on -D; through the reversal G_f gets D's gradient reversed."""
    method = build("mdd", mdd_reversal=1.0)
    b = small_batch()
    _, parts = method.loss(b, info(lam=1.0))
    (-parts["mdd"]).backward()
    adv_grads = grads(method.heads["adversarial"])
    assert has_gradient(method.heads["adversarial"]) and has_gradient(method.model.features)
    # the classifier receives no gradient from the discrepancy (its predictions enter as argmax)
    assert method.model.classifier[4].weight.grad is None
    assert all(g is not None for g in adv_grads)


def test_mdd_total_loss():
    loss, parts = build("mdd").loss(small_batch(), info())
    assert torch.allclose(loss, parts["cls"] - parts["mdd"])
