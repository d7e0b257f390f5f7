import torch

from advlab.methods.mcc import class_confusion
from methods.helpers import build, info, small_batch


def test_no_confusion_for_confident_disjoint_predictions():
    logits = torch.tensor([[100.0, 0.0], [0.0, 100.0]])
    assert class_confusion(logits, temperature=1.0).item() < 1e-6


def test_uniform_predictions_confuse_all_classes():
    # every row of C is uniform: off-diagonal mass per class (C-1)/C, mean over classes (C-1)/C... divided by C
    c = 4
    value = class_confusion(torch.zeros(8, c), temperature=2.5).item()
    assert abs(value - (c - 1) / c) < 1e-6


def test_temperature_softens():
    logits = torch.tensor([[3.0, 0.0], [0.0, 3.0], [2.0, 1.0]])
    assert class_confusion(logits, 5.0) > class_confusion(logits, 1.0)


def test_mcc_loss_weight():
    loss, parts = build("mcc").loss(small_batch(), info(lam=0.5))
    assert torch.allclose(loss, parts["cls"] + 0.5 * parts["mcc"])
