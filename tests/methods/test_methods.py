"""The method engine: needs, heads, the default step, and the existing methods' losses."""

import pytest
import torch
import torch.nn.functional as F

from advlab.data.augment import augment
from advlab.methods import METHODS
from advlab.train.config import AdaptConfig
from methods.helpers import build, has_gradient, info, small_batch


def test_only_target_only_reads_target_labels():
    assert [m for m, cls in METHODS.items() if cls.needs.target_labels] == ["target_only"]


@pytest.mark.parametrize(
    "name",
    [m for m, c in METHODS.items() if c.needs.source and m not in ("target_only", "pseudo_label", "adda", "mcd")],
)
def test_loss_methods_are_finite_without_target_labels(name):
    method = build(name)
    loss, parts = method.loss(method.views(small_batch(), torch.Generator().manual_seed(0)), info())
    assert torch.isfinite(loss) and "cls" in parts


def test_every_method_has_help_and_registers_its_options():
    fields = set(AdaptConfig.__dataclass_fields__)
    for cls in METHODS.values():
        assert cls.about and set(cls.options) <= fields


def test_dann_loss_is_label_plus_domain_term():
    loss, parts = build("dann").loss(small_batch(), info())
    assert torch.allclose(loss, parts["cls"] + parts["dom"])


def test_dann_heads_are_ganins_domain_classifier():
    method = build("dann")
    assert [m.out_features for m in method.heads["discriminator"] if isinstance(m, torch.nn.Linear)] == [100, 1]
    assert method.heads["discriminator"][0].in_features == 768


def test_target_only_trains_on_target_labels():
    method = build("target_only")
    b = small_batch(target_labels=True)
    loss, _ = method.loss(b, info())
    assert torch.allclose(loss, F.cross_entropy(method.model(b.xt), b.yt))


def test_default_step_updates_backbone_and_heads_and_refuses_nan():
    method = build("dann")
    optimizers = method.optimizers(lambda p: torch.optim.SGD(p, lr=0.1))
    before = [p.clone() for p in method.heads.parameters()]
    parts = method.train_step(small_batch(), info(), optimizers)
    assert set(parts) == {"cls", "dom"}
    assert any(not torch.equal(a, b) for a, b in zip(before, method.heads.parameters()))
    from advlab.runs.engine import NonFiniteLoss

    with torch.no_grad():
        method.model.classifier[0].weight.fill_(float("nan"))
    frozen = [p.clone() for p in method.heads.parameters()]
    with pytest.raises(NonFiniteLoss):
        method.train_step(small_batch(), info(), optimizers)
    assert all(torch.equal(a, b) for a, b in zip(frozen, method.heads.parameters()))  # nothing stepped


def test_source_only_gives_no_gradient_to_heads():
    method = build("source_only")
    loss, _ = method.loss(small_batch(), info())
    loss.backward()
    assert len(method.heads) == 0 and has_gradient(method.model.features)


def test_invert_augmentation_flips_about_half_and_is_seeded():
    x = torch.randint(0, 256, (400, 1, 28, 28), dtype=torch.uint8)
    a = augment(x, "invert", seed=3, step=7)
    flipped = (a != x).flatten(1).any(1)
    assert 150 < flipped.sum() < 250
    assert torch.equal(a[flipped], 255 - x[flipped]) and torch.equal(a, augment(x, "invert", seed=3, step=7))
    assert torch.equal(augment(x, "none", 0, 0), x)


def test_pseudo_label_loss_is_source_plus_pseudo_label_cross_entropy():
    b = small_batch()
    b.pt = torch.tensor([1, 2, 3, 4])
    method = build("pseudo_label")
    model = method.model.eval()
    loss, parts = method.loss(b, info())
    assert torch.allclose(parts["cls"], F.cross_entropy(model(b.xs), b.ys), atol=1e-5)
    assert torch.allclose(parts["pseudo"], F.cross_entropy(model(b.xt), b.pt), atol=1e-5)
    assert torch.allclose(loss, parts["cls"] + parts["pseudo"])
    assert not METHODS["pseudo_label"].needs.target_labels and METHODS["pseudo_label"].needs_init


def test_pseudo_label_state_round_trips():
    method = build("pseudo_label", epochs=2, rounds=2, pl_threshold=0.0, batch_size=2)
    method.begin_epoch(0, small_batch(n_target=8).xt, torch.device("cpu"))
    state = method.state_dict()
    other = build("pseudo_label", epochs=2, rounds=2, pl_threshold=0.0, batch_size=2)
    other.load_state_dict(state)
    assert torch.equal(other.target_pool()[0], method.target_pool()[0]) and torch.equal(
        other.target_pool()[1], method.target_pool()[1]
    )
