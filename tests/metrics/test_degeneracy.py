"""The collapse guards on constructed collapses, with known answers."""

from __future__ import annotations

import math

import torch

from advlab.metrics.degeneracy import (
    degeneracy,
    effective_classes,
    features_collapsed,
    predictions_collapsed,
    source_task_lost,
)


def test_effective_classes_known_values():
    assert effective_classes(torch.zeros(50, dtype=torch.long), 10) == 1.0
    assert math.isclose(effective_classes(torch.arange(100) % 10, 10), 10.0, rel_tol=1e-9)
    assert math.isclose(effective_classes(torch.tensor([0, 0, 1, 1]), 10), 2.0, rel_tol=1e-9)


def test_chance_level_source_is_flagged():
    assert "not clearly above chance" in source_task_lost(0.097, None, 10)  # DAN's collapse in issue 22
    assert "not clearly above chance" in source_task_lost(0.2, None, 10)  # twice chance: still not clearly above
    assert source_task_lost(0.25, None, 10) is None
    assert source_task_lost(None, 0.9, 10) is None and source_task_lost(float("nan"), 0.9, 10) is None


def test_a_source_accuracy_far_below_the_runs_best_is_flagged():
    # best 0.98: the floor keeps half its margin over chance, 0.1 + 0.5 * 0.88 = 0.54
    assert "fell to 0.500 from 0.980 earlier in the run" in source_task_lost(0.5, 0.98, 10)
    assert source_task_lost(0.759, 0.986, 10) is None  # cdan's loss in issue 22: worse, not collapsed


def test_one_predicted_class_is_flagged_and_a_spread_is_not():
    said = predictions_collapsed(torch.full((200,), 3), 10)
    assert said.startswith("target predictions collapsed onto 1.0 effective classes of 10 (100% in one class)")
    assert predictions_collapsed(torch.tensor([1, 2] * 50), 10) is not None  # two classes: a few
    assert predictions_collapsed(torch.arange(200) % 10, 10) is None
    assert predictions_collapsed(torch.arange(200) % 7, 10) is None  # 7 of 10: imbalanced, not collapsed
    assert predictions_collapsed(torch.tensor([0, 1] * 10), 2) is None  # both classes of a binary task
    assert predictions_collapsed(torch.ones(20, dtype=torch.long), 2) is not None


def test_constant_features_are_flagged():
    assert "features collapsed" in features_collapsed(torch.ones(64, 128) * 3.0)
    assert "features collapsed" in features_collapsed(torch.zeros(64, 128))
    assert features_collapsed(torch.randn(64, 128, generator=torch.Generator().manual_seed(0))) is None
    assert features_collapsed(torch.ones(1, 8)) is None  # one image has no spread to judge


def test_degeneracy_joins_every_reason_and_is_none_when_healthy():
    healthy = degeneracy(10, 0.95, 0.96, torch.arange(100) % 10, torch.randn(100, 16))
    assert healthy is None
    collapsed = degeneracy(10, 0.1, 0.9, torch.zeros(100, dtype=torch.long), torch.ones(100, 16))
    assert collapsed.count("; ") == 2


def test_a_source_accuracy_far_below_the_weights_a_run_started_from_is_flagged():
    # SHOT's fall in benchmarks/results/methods_mnist_mnistm.md: 0.993 at --init, 0.533 by epoch 6, best epoch 0.949
    assert source_task_lost(0.533, 0.949, 10) is None  # against its own epochs alone: floor 0.5245
    said = source_task_lost(0.533, 0.949, 10, start=0.993)  # floor 0.1 + 0.5 * 0.893 = 0.5465
    assert said == "source validation accuracy fell to 0.533 from 0.993 in the weights it started from"
    assert source_task_lost(0.9, None, 10, start=0.993) is None
