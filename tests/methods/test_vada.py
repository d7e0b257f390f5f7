"""VADA and the VAT it is built on, on values worked by hand: the conditional entropy, the
KL, the power iteration's direction on a linear model, the perturbation's effect, the
method's defaults and its loss parts."""

import math

import pytest
import torch

from advlab.backbones import BACKBONES
from advlab.config import resolve
from advlab.errors import ConfigError
from advlab.methods import METHODS, Batch
from advlab.methods.vada import default_radius
from advlab.nn.vat import adversarial_direction, conditional_entropy, kl_from_logits, per_image_unit, vat_loss
from advlab.train.config import AdaptConfig
from methods.helpers import info


def test_the_conditional_entropy_is_log_k_for_uniform_predictions_and_near_zero_for_sure_ones():
    assert conditional_entropy(torch.zeros(4, 10)).item() == pytest.approx(math.log(10))
    assert conditional_entropy(torch.tensor([[30.0, 0.0, 0.0]])).item() == pytest.approx(0.0, abs=1e-10)


def test_the_kl_by_hand():
    p, q = torch.tensor([[0.0, 0.0]]), torch.tensor([[math.log(3.0), 0.0]])  # (1/2, 1/2) against (3/4, 1/4)
    expected = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    assert kl_from_logits(p, q).item() == pytest.approx(expected)
    assert kl_from_logits(q, q).item() == pytest.approx(0.0, abs=1e-7)


def test_each_image_is_scaled_to_unit_norm():
    d = torch.randn(5, 3, 4, 4) * torch.arange(1, 6).view(5, 1, 1, 1)
    assert per_image_unit(d).flatten(1).norm(dim=1).tolist() == pytest.approx([1.0] * 5)


def linear(weight: torch.Tensor):
    return lambda x: x.flatten(1) @ weight.T


def test_the_power_iteration_finds_the_direction_the_prediction_is_most_sensitive_to():
    # logits = W x with W = [[10, 0], [0, 0]]: only the first input coordinate moves the prediction
    predict = linear(torch.tensor([[10.0, 0.0], [0.0, 0.0]]))
    x = torch.zeros(3, 2)
    start = torch.tensor([[0.6, 0.8], [-0.3, 0.9], [0.99, -0.1]])
    direction = adversarial_direction(predict, x, predict(x), start)
    assert torch.allclose(direction.abs(), torch.tensor([[1.0, 0.0]] * 3), atol=1e-3)


def test_the_adversarial_perturbation_raises_the_kl_more_than_random_ones_of_its_size():
    torch.manual_seed(0)
    weight = torch.randn(5, 12)
    predict, x = linear(weight), torch.randn(8, 12)
    clean = predict(x)
    adversarial = vat_loss(predict, x, clean, 0.5, torch.randn(8, 12)).item()
    for _ in range(20):
        r = 0.5 * per_image_unit(torch.randn(8, 12))
        assert adversarial > kl_from_logits(clean, predict(x + r)).item()


def test_vat_is_zero_for_a_classifier_that_ignores_its_input_and_gives_the_clean_prediction_no_gradient():
    bias = torch.tensor([1.0, -1.0], requires_grad=True)
    x = torch.randn(4, 6)
    assert vat_loss(
        lambda x: bias.expand(len(x), 2) + 0 * x.sum(1, keepdim=True), x, bias.expand(4, 2), 3.0, x
    ).item() == (pytest.approx(0.0, abs=1e-7))
    w = torch.randn(2, 6, requires_grad=True)
    clean = x @ w.T
    vat_loss(linear(w), x, clean, 1.0, torch.randn(4, 6)).backward()
    assert w.grad is not None  # through the perturbed prediction only: p(x) is held fixed


def test_the_radius_is_the_authors_scaled_to_the_input_size():
    assert default_radius(BACKBONES["dirtt_small"](10)) == pytest.approx(3.5)  # their 32 x 32 x 3
    assert default_radius(BACKBONES["ganin"](10)) == pytest.approx(3.5 * math.sqrt(3 * 28 * 28 / 3072))
    assert default_radius(BACKBONES["lenet"](10)) == pytest.approx(3.5 * math.sqrt(28 * 28 / 3072))


def test_vada_brings_the_authors_optimiser_and_weight_average_and_options_override_them():
    cfg = resolve(AdaptConfig, {"method": "vada"})
    assert (cfg.optimizer, cfg.lr, cfg.lr_schedule, cfg.lambda_schedule, cfg.ema_decay) == (
        "adam",
        1e-3,
        "constant",
        "constant",
        0.998,
    )
    assert (cfg.vada_domain_weight, cfg.vada_source_weight, cfg.vada_target_weight) == (1e-2, 1.0, 1e-2)
    assert resolve(AdaptConfig, {"method": "vada", "lr": 3e-4, "ema_decay": 0.0}).lr == 3e-4
    assert resolve(AdaptConfig, {"method": "dann"}).optimizer == "sgd"  # only vada's own


def test_every_methods_defaults_name_options_every_method_has():
    common = {f.name for f in __import__("dataclasses").fields(AdaptConfig)}
    for method in METHODS.values():
        assert set(method.defaults) <= common, method.name


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"vada_domain_weight": -1.0}, "vada domain weight must be >= 0"),
        ({"vada_target_weight": float("nan")}, "vada target weight must be >= 0 and finite"),
        ({"vada_radius": 0.0}, "vada radius must be > 0"),
    ],
)
def test_bad_values_are_one_line_errors(options, fragment):
    with pytest.raises(ConfigError, match=fragment):
        resolve(AdaptConfig, {"method": "vada", **options})


def batch() -> Batch:
    g = torch.Generator().manual_seed(0)
    return Batch(
        torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (6,), generator=g),
        torch.randint(0, 256, (6, 3, 28, 28), dtype=torch.uint8, generator=g),
        None,
    )


def test_the_loss_is_its_parts_weighted_and_the_views_draw_one_direction_per_image():
    torch.manual_seed(0)
    cfg = resolve(AdaptConfig, {"method": "vada", "vada_domain_weight": 0.5, "vada_target_weight": 0.25})
    method = METHODS["vada"](BACKBONES["ganin"](10, "per_image"), cfg)
    seen = method.views(batch(), torch.Generator().manual_seed(1))
    assert seen.draws["vat_source"].shape == seen.draws["vat_target"].shape == (6, 3, 28, 28)
    again = method.views(batch(), torch.Generator().manual_seed(1))
    assert torch.equal(seen.draws["vat_target"], again.draws["vat_target"])  # the step's generator decides
    assert torch.equal(seen.shard(1, 2).draws["vat_source"], seen.draws["vat_source"][3:])  # split with the batch
    torch.manual_seed(0)
    total, parts = method.loss(seen, info(lam=1.0))
    expected = parts["cls"] + 0.5 * parts["dom"] + 1.0 * parts["vat_s"] + 0.25 * (parts["ent"] + parts["vat_t"])
    assert total.item() == pytest.approx(expected.item())
    assert parts["vat_s"].item() > 0 and parts["vat_t"].item() > 0 and parts["ent"].item() > 0
