import math

import pytest
import torch

from advlab.metrics.generative import (
    conditional_accuracy,
    coverage,
    frechet_distance,
    frechet_distance_of,
    inception_score,
    kl_from_uniform,
)


def test_identical_feature_sets_have_zero_distance():
    f = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    assert frechet_distance_of(f, f) == pytest.approx(0.0, abs=1e-8)


def test_shifted_features_give_squared_shift():
    f = torch.randn(1000, 6, generator=torch.Generator().manual_seed(1))
    shift = torch.tensor([1.0, -2.0, 0.5, 0.0, 0.0, 3.0])
    assert frechet_distance_of(f, f + shift) == pytest.approx(float((shift**2).sum()), rel=1e-6)


def test_closed_form_for_gaussians():
    mu1, mu2 = torch.zeros(3, dtype=torch.float64), torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64)
    s1, s2 = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 1.0])
    expected = float(((mu1 - mu2) ** 2).sum() + ((s1.sqrt() - s2.sqrt()) ** 2).sum())  # diagonal case
    assert frechet_distance(mu1, torch.diag(s1).double(), mu2, torch.diag(s2).double()) == pytest.approx(
        expected, rel=1e-9
    )
    # a rotated covariance: the distance does not depend on the basis
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64))
    rotated = frechet_distance(q @ mu1, q @ torch.diag(s1).double() @ q.T, q @ mu2, q @ torch.diag(s2).double() @ q.T)
    assert rotated == pytest.approx(expected, rel=1e-7)


def test_inception_score_extremes():
    confident_balanced = torch.eye(10).repeat(20, 1)
    assert inception_score(confident_balanced) == pytest.approx(10.0)
    single_class = torch.zeros(100, 10)
    single_class[:, 3] = 1
    assert inception_score(single_class) == pytest.approx(1.0)
    assert inception_score(torch.full((50, 10), 0.1)) == pytest.approx(1.0)


def test_coverage_and_kl():
    balanced = torch.arange(1000) % 10
    assert coverage(balanced, 10) == 10 and kl_from_uniform(balanced, 10) == pytest.approx(0.0)
    one = torch.full((100,), 4)
    assert coverage(one, 10) == 1 and kl_from_uniform(one, 10) == pytest.approx(math.log(10))
    mostly = torch.cat([torch.zeros(96, dtype=torch.long), torch.arange(4) + 1])
    assert coverage(mostly, 10) == 1  # 1% each is below the 5% bar


def test_conditional_accuracy():
    assert conditional_accuracy(torch.tensor([1, 2, 3, 3]), torch.tensor([1, 2, 3, 4])) == 0.75
