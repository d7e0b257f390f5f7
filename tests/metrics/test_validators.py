"""Every validator on inputs whose answer is known."""

import math

import numpy as np
import pytest
import torch

from advlab.metrics.validators import (
    batch_nuclear_norm,
    class_ami,
    dev_score,
    importance_weights,
    information_maximization,
    neg_entropy,
    soft_neighborhood_density,
    source_accuracy,
)

ONE_HOT = 50.0 * torch.eye(4)  # four confident predictions, one per class


def test_source_accuracy():
    assert source_accuracy(
        torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), torch.tensor([0, 1, 1])
    ) == pytest.approx(2 / 3)


def test_entropy_of_uniform_and_confident_predictions():
    assert neg_entropy(torch.zeros(5, 4)) == pytest.approx(-math.log(4))
    assert neg_entropy(ONE_HOT) == pytest.approx(0.0, abs=1e-9)


def test_information_maximization():
    assert information_maximization(ONE_HOT) == pytest.approx(math.log(4))  # diverse and confident
    assert information_maximization(torch.zeros(6, 4)) == pytest.approx(0.0, abs=1e-12)  # uncertain
    assert information_maximization(50.0 * torch.eye(4)[[0, 0, 0, 0]]) == pytest.approx(0.0, abs=1e-9)  # one class only


def test_snd_of_spread_and_of_paired_predictions():
    spread = torch.tensor([[2.0, 0.0, 0.0], [1.9, 0.1, 0.0], [0.0, 2.0, 0.0], [0.0, 1.9, 0.1]])
    assert 0 < soft_neighborhood_density(spread) < math.log(3)
    pairs = 50.0 * torch.eye(3).repeat_interleave(2, dim=0)  # each image has exactly one twin
    assert soft_neighborhood_density(pairs) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    "logits",
    [torch.zeros(6, 3), 50.0 * torch.eye(3)[[1] * 6], torch.randn(6, 3) + torch.tensor([9.0, 0, 0])],
    ids=["identical", "confident_one_class", "noisy_one_class"],
)
def test_snd_of_a_collapsed_model_is_its_minimum_not_a_maximum(logits):
    """Every image one class: SND gave log(n - 1), its maximum, so a collapse scored best."""
    assert soft_neighborhood_density(logits) == 0.0


def test_snd_of_a_single_image_is_none_not_nan():
    """Alone, an image has no neighbour: the softmax over nothing gave NaN."""
    assert soft_neighborhood_density(torch.randn(1, 10)) is None


def test_bnm_rewards_confident_and_diverse():
    assert batch_nuclear_norm(ONE_HOT) == pytest.approx(1.0)
    same = 50.0 * torch.eye(4)[[0, 0, 0, 0]]
    assert batch_nuclear_norm(same) == pytest.approx(1 / math.sqrt(4))


def test_dev_with_constant_weights_is_minus_the_mean_loss():
    loss = np.array([0.1, 0.4, 0.7])
    assert dev_score(np.ones(3), loss) == pytest.approx(-0.4)


def test_dev_control_variate_by_hand():
    w, loss = np.array([0.5, 1.0, 1.5, 3.0]), np.array([1.0, 0.0, 2.0, 1.0])
    wl = w * loss
    eta = -np.cov(wl, w)[0, 1] / np.var(w, ddof=1)
    assert dev_score(w, loss) == pytest.approx(-(wl.mean() + eta * w.mean() - eta))
    wn = w / w.max()
    wn = wn - (wn.mean() - 1)
    eta_n = -np.cov(wn * loss, wn)[0, 1] / np.var(wn, ddof=1)
    assert dev_score(w, loss, "max") == pytest.approx(-((wn * loss).mean() + eta_n * wn.mean() - eta_n))


def test_importance_weights_are_higher_where_target_is_denser():
    rng = np.random.default_rng(0)
    source, target = rng.normal(0, 1, (400, 2)), rng.normal(1.5, 1, (400, 2))
    w = importance_weights(source, np.array([[-1.5, -1.5], [1.5, 1.5]]), target)
    assert w[1] > 10 * w[0]


def test_class_ami_is_one_when_predictions_follow_the_clusters():
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 20
    labels = np.repeat(np.arange(3), 30)
    features = centres[labels] + rng.normal(0, 0.1, (90, 3))
    logits = torch.nn.functional.one_hot(torch.from_numpy(labels), 3).double() * 10
    assert class_ami(features, logits) == pytest.approx(1.0)
    shuffled = logits[torch.from_numpy(rng.permutation(90))]
    assert abs(class_ami(features, shuffled)) < 0.1


def test_class_ami_of_a_collapsed_model_is_zero_not_a_perfect_one():
    """One predicted class on constant features: AMI of one cluster and one class is 1.0, the maximum."""
    logits = 10.0 * torch.eye(3)[[2] * 30]
    assert class_ami(np.ones((30, 4)), logits) == 0.0
    rng = np.random.default_rng(0)
    assert class_ami(rng.normal(0, 1, (30, 4)), logits) == 0.0  # features spread, predictions one class
    spread = torch.nn.functional.one_hot(torch.arange(30) % 3, 3).double() * 10
    assert class_ami(np.ones((30, 4)), spread) == 0.0  # features all alike: nothing for the classes to follow


def test_class_ami_with_no_more_images_than_classes_is_none_not_an_error():
    assert class_ami(np.eye(3), 10.0 * torch.eye(3)) is None
