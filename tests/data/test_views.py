"""Weak and strong views of uint8 batches: seeded, shape- and dtype-preserving, and the
geometry worked out by hand."""

import pytest
import torch

from advlab.data.augment import STRONG_OP_NAMES, _to_uint8, _warp, strong, strong_op, weak


def digits(n: int = 6, channels: int = 3, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randint(
        0, 256, (n, channels, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed)
    )


def test_weak_with_nothing_to_draw_is_the_identity():
    x = digits()
    assert torch.equal(weak(x, torch.Generator().manual_seed(0), translate=0, affine_std=0, noise_std=0), x)


def test_an_integer_translation_moves_pixels_exactly():
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 1.0
    shift = torch.tensor([[[1.0, 0.0, 1.0], [0.0, 1.0, -1.0]]])  # output (r, c) reads input (r - 1, c + 1)
    out = _warp(x, shift)
    assert out[0, 0, 3, 1] == 1.0 and out.sum() == 1.0


def test_views_are_a_function_of_the_generator_only():
    x = digits()
    for view in (weak, strong):
        a, b = view(x, torch.Generator().manual_seed(5)), view(x, torch.Generator().manual_seed(5))
        c = view(x, torch.Generator().manual_seed(6))
        assert torch.equal(a, b) and not torch.equal(a, c)
        assert a.dtype == torch.uint8 and a.shape == x.shape


def test_weak_views_stay_close_and_strong_ones_do_not():
    x = torch.zeros(200, 1, 28, 28, dtype=torch.uint8)
    x[:, :, 8:20, 10:18] = 255  # a block
    g = torch.Generator().manual_seed(0)
    weak_change = (weak(x, g).float() - x.float()).abs().mean()
    strong_change = (strong(x, g).float() - x.float()).abs().mean()
    assert weak_change < strong_change


def test_every_strong_operation_keeps_the_range_and_identity_is_first():
    x = digits(channels=3).float() / 255
    m = torch.rand(len(x), generator=torch.Generator().manual_seed(0))
    outs = [strong_op(name, x, m) for name in STRONG_OP_NAMES]
    assert STRONG_OP_NAMES[0] == "identity" and torch.equal(outs[0], x)
    assert all(o.shape == x.shape and o.min() >= 0 and o.max() <= 1 for o in outs)


def every_candidate_then_select(images: torch.Tensor, generator: torch.Generator, ops: int = 2) -> torch.Tensor:
    """The strong view as advlab computed it before: every operation on every image, then each
    image's drawn one selected; the cutout as strong() draws it."""
    n = len(images)
    x = images.float() / 255
    for _ in range(ops):
        choice = torch.randint(len(STRONG_OP_NAMES), (n,), generator=generator)
        m = torch.rand(n, generator=generator)
        x = torch.stack([strong_op(name, x, m) for name in STRONG_OP_NAMES])[choice, torch.arange(n)]
    return strong(_to_uint8(x), generator, ops=0)


@pytest.mark.parametrize("channels", [1, 3])
def test_each_image_gets_only_its_drawn_operation_the_same_numbers_as_computing_every_one(channels):
    """An image's strong view depends on it and its draws alone, so applying each operation to
    the images that drew it gives, bit for bit, what computing every candidate and selecting gave."""
    for seed in range(10):
        g = torch.Generator().manual_seed(seed)
        images = torch.randint(0, 256, (64, channels, 28, 28), dtype=torch.uint8, generator=g)
        ours = strong(images, torch.Generator().manual_seed(seed))
        assert torch.equal(ours, every_candidate_then_select(images, torch.Generator().manual_seed(seed))), seed


def test_strong_views_cut_out_a_black_square():
    x = torch.full((50, 1, 32, 32), 200, dtype=torch.uint8)
    out = strong(x, torch.Generator().manual_seed(0), ops=0)  # the cutout alone
    black = (out == 0).flatten(1).sum(1)
    assert (black > 0).any() and (black <= 16 * 16).all()
