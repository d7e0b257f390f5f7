import pytest
import torch

from advlab.metrics.accuracy import accuracy, batched, domain_accuracy, per_class_accuracy


def test_domain_accuracy_is_balanced_over_the_two_domains():
    source, target = torch.tensor([-2.0, -0.1, 0.5]), torch.tensor([1.0, -3.0, 0.2, 4.0, 0.1])
    assert domain_accuracy(source, target) == pytest.approx(0.5 * (2 / 3 + 4 / 5))
    # a classifier that calls everything target is at chance, whatever the set sizes
    assert domain_accuracy(torch.ones(10), torch.ones(2)) == 0.5


def test_accuracy_and_per_class_accuracy():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [1.0, 0.0]])
    labels = torch.tensor([0, 1, 1, 1])
    assert accuracy(logits, labels) == 0.5
    assert per_class_accuracy(logits, labels, 3)[:2] == pytest.approx([1.0, 1 / 3])
    assert torch.isnan(torch.tensor(per_class_accuracy(logits, labels, 3)[2]))  # a class with no images


def test_batched_applies_in_chunks_and_concatenates():
    x = torch.arange(10.0).view(10, 1)
    assert torch.equal(batched(lambda t: t * 2, x, batch_size=3), x * 2)
