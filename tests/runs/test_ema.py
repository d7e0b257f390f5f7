"""The one weight average behind the GAN's averaged generator and `--ema-decay`."""

import torch

from advlab.runs.ema import WeightAverage


def test_average_follows_the_decay_with_a_short_memory_at_first():
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    average = WeightAverage(model, decay=0.5)
    with torch.no_grad():
        model.weight.fill_(10.0)
    average.update(0)  # decay min(0.5, 1/10) = 0.1: 0.1 * 0 + 0.9 * 10
    assert torch.allclose(average.model.weight, torch.tensor([[9.0]]))
    average.update(100)  # decay 0.5 from here on: 0.5 * 9 + 0.5 * 10
    assert torch.allclose(average.model.weight, torch.tensor([[9.5]]))
    assert not average.model.weight.requires_grad and not average.model.training


def test_buffers_are_copied_not_averaged():
    model = torch.nn.BatchNorm1d(2)
    average = WeightAverage(model, decay=0.9)
    model.running_mean.fill_(3.0)
    average.update(50)
    assert torch.equal(average.model.running_mean, model.running_mean)
