import json
import math

import pytest
import torch

from advlab.errors import AdvlabError
from advlab.gan import evaluator as ev
from advlab.gan.evaluate import generate
from advlab.models.dcgan import Generator
from tests_helpers import synthetic_split


def test_evaluator_learns_synthetic_classes():
    train, test = synthetic_split(2000, 0), synthetic_split(300, 1)
    model, acc = ev.train_evaluator(train, test, seed=0, epochs=2, quiet=True)
    assert acc > 0.9
    assert model.features(ev.to_unit_range(test.x[:5])).shape == (5, 128)


def test_shifts_keep_content():
    x = torch.zeros(3, 1, 28, 28)
    x[:, :, 10:18, 10:18] = 1
    shifted = ev._shifted(x, torch.Generator().manual_seed(0))
    assert shifted.shape == x.shape and torch.equal(shifted.sum(dim=(1, 2, 3)), x.sum(dim=(1, 2, 3)))


def test_cached_evaluator_with_wrong_hash_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path))
    path = ev.evaluator_path(0)
    path.parent.mkdir(parents=True)
    torch.save({"model": {}}, path)
    path.with_suffix(".json").write_text(json.dumps({"path": str(path), "sha256": "0" * 64, "test_acc": 0.995}))
    with pytest.raises(AdvlabError, match="does not match its recorded sha256"):
        ev.load_evaluator()


def test_generate_balances_classes():
    g = Generator(width=8)
    images, labels = generate(g, 25, seed=0, batch_size=10)
    assert images.shape == (25, 1, 28, 28) and labels.tolist() == [i % 10 for i in range(25)]


class _DigitReader(torch.nn.Module):
    """A stand-in evaluator that reads the digit from the mean brightness (digit d at 0.2·d - 1)."""

    def features(self, x):
        return x.mean(dim=(1, 2, 3), keepdim=False)[:, None]

    def head(self, features):
        digit = ((features[:, 0] + 1) / 0.2).round().clamp(0, 9).long()
        return torch.nn.functional.one_hot(digit, 10).float() * 50


class _TripleGenerator(torch.nn.Module):
    """Draws only the digit triples it is given, in turn."""

    z_dim, num_classes = 4, 0

    def __init__(self, triples):
        super().__init__()
        self.triples = torch.tensor(triples)
        self.drawn = 0

    def forward(self, z, y=None):
        rows = self.triples[(torch.arange(len(z)) + self.drawn) % len(self.triples)]
        self.drawn += len(z)
        return (rows.float() * 0.2 - 1)[:, :, None, None].expand(-1, -1, 28, 28)


def test_stacked_mnist_modes_read_each_channel(monkeypatch):
    from advlab.gan import evaluate

    monkeypatch.setattr(evaluate, "load_evaluator", lambda *a, **k: _DigitReader())
    found = evaluate.evaluate_stacked(_TripleGenerator([(1, 2, 3), (9, 0, 0), (1, 2, 3), (4, 4, 4)]), n=2600)
    assert found["modes"] == 3 and found["eval_samples"] == 2600
    expected = 0.5 * math.log(500) + 2 * 0.25 * math.log(250)  # KL of (1/2, 1/4, 1/4) on 3 of 1000 modes from uniform
    assert found["kl_modes"] == pytest.approx(expected)
