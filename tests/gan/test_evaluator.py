import json

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
