import pytest
import torch

from advlab.data.augment import augment
from advlab.methods import METHODS, Batch
from advlab.models.dann import DANNNet


def batch(with_target_labels: bool) -> Batch:
    g = torch.Generator().manual_seed(0)
    return Batch(
        torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (6,), generator=g),
        torch.randint(0, 256, (4, 3, 28, 28), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (4,), generator=g) if with_target_labels else None,
    )


@pytest.mark.parametrize("name", ["source_only", "dann", "dann_no_grl"])
def test_adaptation_methods_never_need_target_labels(name):
    loss, parts = METHODS[name].loss(DANNNet(), batch(with_target_labels=False), 0.5)
    assert torch.isfinite(loss) and "cls" in parts
    assert ("dom" in parts) == name.startswith("dann")


def test_dann_loss_is_label_plus_domain_term():
    loss, parts = METHODS["dann"].loss(DANNNet(), batch(False), 0.5)
    assert torch.allclose(loss, parts["cls"] + parts["dom"])


def test_target_only_trains_on_target_labels():
    b = batch(True)
    model = DANNNet()
    loss, _ = METHODS["target_only"].loss(model, b, 0.0)
    assert torch.allclose(loss, torch.nn.functional.cross_entropy(model(b.xt), b.yt))


def test_invert_augmentation_flips_about_half_and_is_seeded():
    x = torch.randint(0, 256, (400, 1, 28, 28), dtype=torch.uint8)
    a = augment(x, "invert", seed=3, step=7)
    flipped = (a != x).flatten(1).any(1)
    assert 150 < flipped.sum() < 250
    assert torch.equal(a[flipped], 255 - x[flipped]) and torch.equal(a, augment(x, "invert", seed=3, step=7))
    assert torch.equal(augment(x, "none", 0, 0), x)


def test_pseudo_label_loss_is_source_plus_pseudo_label_cross_entropy():
    b = batch(with_target_labels=False)
    b.pt = torch.tensor([1, 2, 3, 4])
    model = DANNNet().eval()  # eval: batch norm statistics do not depend on how the batches are grouped
    loss, parts = METHODS["pseudo_label"].loss(model, b, 0.0)
    F = torch.nn.functional
    assert torch.allclose(parts["cls"], F.cross_entropy(model(b.xs), b.ys), atol=1e-5)
    assert torch.allclose(parts["pseudo"], F.cross_entropy(model(b.xt), b.pt), atol=1e-5)
    assert torch.allclose(loss, parts["cls"] + parts["pseudo"])
    assert not METHODS["pseudo_label"].uses_target_labels
