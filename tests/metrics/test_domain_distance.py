import torch

from advlab.metrics.domain_distance import proxy_a_distance


def gaussian(n: int, shift: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 16, generator=g) + shift


def test_one_distribution_sampled_twice_is_close_to_zero():
    assert abs(proxy_a_distance(gaussian(2000, 0.0, 0), gaussian(2000, 0.0, 1))) < 0.15


def test_far_apart_domains_give_two():
    assert proxy_a_distance(gaussian(500, 0.0, 0), gaussian(500, 5.0, 1)) == 2.0


def test_grows_with_the_shift_and_is_seeded():
    near, far = (proxy_a_distance(gaussian(1000, 0.0, 0), gaussian(1000, s, 1)) for s in (0.1, 0.4))
    assert 0 < near < far < 2
    assert proxy_a_distance(gaussian(300, 0, 0), gaussian(300, 0.2, 1), seed=3) == proxy_a_distance(
        gaussian(300, 0, 0), gaussian(300, 0.2, 1), seed=3
    )
