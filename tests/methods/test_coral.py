import torch

from advlab.methods.coral import coral, covariance
from methods.helpers import build, info, small_batch


def test_covariance_matches_numpy():
    x = torch.randn(20, 3, dtype=torch.float64)
    assert torch.allclose(covariance(x), torch.from_numpy(__import__("numpy").cov(x.numpy(), rowvar=False)))


def test_coral_of_identical_sets_is_zero_and_known_for_a_scale():
    x = torch.randn(50, 4, dtype=torch.float64)
    assert coral(x, x.clone()).item() == 0.0
    # scaling by a multiplies the covariance by a^2: ||(a^2 - 1) C||^2 / (4 d^2)
    c = covariance(x)
    expected = ((3.0**2 - 1) ** 2) * c.pow(2).sum() / (4 * 16)
    assert torch.allclose(coral(x, 3 * x), expected)
    assert coral(x, x + 5.0).item() < 1e-20  # a shift of the mean is not its business


def test_layer_option_and_weight():
    for layer in ("logits", "features"):
        loss, parts = build("coral", coral_layer=layer).loss(small_batch(), info(lam=0.5))
        assert torch.allclose(loss, parts["cls"] + 0.5 * parts["coral"])
