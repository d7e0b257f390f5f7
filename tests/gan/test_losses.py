"""The GAN loss families on logits whose losses are known by hand."""

import math

import pytest
import torch

from advlab.gan.losses import fake_term, generator_term, real_term

LOGITS = torch.tensor([2.0, 0.0, -1.0])


def test_ns_is_binary_cross_entropy():
    zero = torch.zeros(4)
    assert real_term("ns", zero).item() == pytest.approx(math.log(2))
    assert fake_term("ns", zero).item() == pytest.approx(math.log(2))
    # -log sigmoid(x) for G (non-saturating), -log(1 - sigmoid(x)) for D's fakes
    expected_g = sum(math.log1p(math.exp(-x)) for x in (2.0, 0.0, -1.0)) / 3
    expected_fake = sum(math.log1p(math.exp(x)) for x in (2.0, 0.0, -1.0)) / 3
    assert generator_term("ns", LOGITS).item() == pytest.approx(expected_g)
    assert fake_term("ns", LOGITS).item() == pytest.approx(expected_fake)


def test_hinge_by_hand():
    assert real_term("hinge", LOGITS).item() == pytest.approx((0 + 1 + 2) / 3)  # max(0, 1 - x)
    assert fake_term("hinge", LOGITS).item() == pytest.approx((3 + 1 + 0) / 3)  # max(0, 1 + x)
    assert generator_term("hinge", LOGITS).item() == pytest.approx(-1 / 3)  # -mean(x)


def test_hinge_gives_no_gradient_beyond_the_margin():
    x = torch.tensor([3.0, 0.5], requires_grad=True)
    real_term("hinge", x).backward()
    assert x.grad.tolist() == [0.0, -0.5]  # the confident one is left alone


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown GAN loss 'wasserstein'"):
        real_term("wasserstein", LOGITS)
