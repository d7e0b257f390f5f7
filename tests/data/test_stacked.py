"""Stacked-MNIST from grey digits: channels are independent draws, the label is the triple."""

import numpy as np
import torch

from advlab.data.stacked import digit_triples, stack_digits
from advlab.metrics.generative import mode_coverage


def digits(n=50):
    y = np.arange(n) % 10
    x = (y[:, None, None, None] * 25 + np.zeros((n, 1, 28, 28))).astype(np.uint8)  # each image's value says its digit
    return x, y


def test_each_channel_is_a_drawn_digit_and_the_label_is_the_triple():
    x, y = digits()
    images, labels = stack_digits(x, y, 200, seed=3)
    assert images.shape == (200, 3, 28, 28) and images.dtype == np.uint8 and labels.dtype == np.int64
    read = images[:, :, 0, 0] // 25  # the digit in each channel, from its pixel value
    assert np.array_equal(digit_triples(labels), read)
    assert np.array_equal(labels, read @ [100, 10, 1])
    again, _ = stack_digits(x, y, 200, seed=3)
    assert np.array_equal(images, again)  # seeded


def test_the_modes_are_close_to_uniform_over_many_draws():
    x, y = digits(1000)
    _, labels = stack_digits(x, y, 100_000, seed=0)
    found = mode_coverage(torch.from_numpy(labels), 1000)
    assert found["modes"] == 1000 and found["kl_modes"] < 0.01


def test_mode_coverage_by_hand():
    assert mode_coverage(torch.tensor([7, 7, 7, 7]), 1000) == {"modes": 1, "kl_modes": np.log(1000)}
    half = mode_coverage(torch.tensor([1, 2, 1, 2]), 4)
    assert half["modes"] == 2 and abs(half["kl_modes"] - np.log(2)) < 1e-12
