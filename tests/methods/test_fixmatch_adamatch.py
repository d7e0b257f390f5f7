"""FixMatch and AdaMatch on values worked by hand: the masked cross-entropy, distribution
alignment, the relative threshold, the warm-up; their views, loss parts and options."""

import math

import pytest
import torch
import torch.nn.functional as F

from advlab.config import resolve
from advlab.errors import ConfigError
from advlab.methods import StepInfo
from advlab.methods.adamatch import align, relative_threshold, warm_up
from advlab.methods.fixmatch import masked_cross_entropy
from advlab.train.config import AdaptConfig
from methods.helpers import build, info, small_batch


def test_the_masked_cross_entropy_counts_unconfident_images_as_zero():
    logits, labels = torch.zeros(4, 2), torch.tensor([0, 1, 0, 1])
    mask = torch.tensor([1.0, 1.0, 0.0, 0.0])
    assert masked_cross_entropy(logits, labels, mask).item() == pytest.approx(2 * math.log(2) / 4)


def test_alignment_gives_the_target_the_sources_class_marginal():
    source = torch.tensor([[0.5, 0.5], [0.5, 0.5]])  # the source is balanced
    target = torch.tensor([[0.9, 0.1], [0.7, 0.3]])  # the target leans to class 0 (mean 0.8, 0.2)
    aligned = align(target, source)
    # image 0: (0.9 * 0.5/0.8, 0.1 * 0.5/0.2) = (0.5625, 0.25), renormalised
    assert aligned[0].tolist() == pytest.approx([0.5625 / 0.8125, 0.25 / 0.8125])
    assert aligned.sum(dim=1).tolist() == pytest.approx([1.0, 1.0])
    assert torch.allclose(align(source, source), source)  # nothing to align


def test_the_threshold_is_tau_times_the_sources_mean_confidence():
    source = torch.tensor([[0.9, 0.1], [0.6, 0.4]])
    assert relative_threshold(source, 0.9).item() == pytest.approx(0.9 * 0.75)


def test_the_warm_up_is_a_half_cosine_over_the_first_half():
    assert [warm_up(p) for p in (0.0, 0.25, 0.5, 0.9)] == pytest.approx([0.0, 0.5, 1.0, 1.0])


def test_fixmatch_labels_the_strong_view_with_the_weak_views_confident_class():
    method = build("fixmatch", fixmatch_threshold=0.0)
    seen = method.views(small_batch(), torch.Generator().manual_seed(0))
    assert seen.draws["target_strong"].shape == seen.xt.shape and not torch.equal(seen.draws["target_strong"], seen.xt)
    torch.manual_seed(0)
    total, parts = method.loss(seen, info())
    assert parts["confident"].item() == 1.0  # threshold 0: every image labelled
    with torch.no_grad():
        labels = method.model(seen.xt).argmax(1)
    expected = F.cross_entropy(method.model(seen.draws["target_strong"]), labels)
    assert parts["pseudo"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert total.item() == pytest.approx((parts["cls"] + parts["pseudo"]).item(), rel=1e-6)
    assert build("fixmatch").loss(seen, info())[1]["confident"].item() == 0.0  # untrained: sure of nothing at 0.95


def test_adamatch_weighs_its_target_loss_by_the_warm_up_and_draws_its_views_and_mixing_weights():
    method = build("adamatch", adamatch_tau=0.0)
    seen = method.views(small_batch(), torch.Generator().manual_seed(0))
    assert seen.draws["interpolation"].shape == (2 * 6, 10) and seen.draws["source_strong"].shape == seen.xs.shape
    total, parts = method.loss(seen, info(lam=1.0))  # progress 0: the warm-up's start
    assert total.item() == pytest.approx(parts["cls"].item(), rel=1e-6) and parts["confident"].item() == 1.0
    late = method.loss(seen, StepInfo(1.0, 0, 0.75))  # past the warm-up: weight 1
    assert late[0].item() == pytest.approx((late[1]["cls"] + late[1]["pseudo"]).item(), rel=1e-6)


def test_adamatch_on_a_per_image_backbone_makes_one_pass_with_the_two_passes_loss_and_gradients():
    """ganin's images never meet in a pass: the source-only pass would give the same logits."""
    method = build("adamatch", adamatch_tau=0.0)
    seen = method.views(small_batch(), torch.Generator().manual_seed(0))
    results = {}
    for per_image in (True, False):
        method.model.per_image = per_image  # on the instance: False makes the second pass
        method.model.zero_grad()
        total, _ = method.loss(seen, StepInfo(1.0, 0, 0.75))
        total.backward()
        results[per_image] = (total.detach(), [p.grad.clone() for p in method.model.parameters()])
    assert torch.allclose(results[True][0], results[False][0], rtol=1e-5, atol=1e-6)
    for one, two in zip(results[True][1], results[False][1]):
        assert torch.allclose(one, two, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"method": "fixmatch", "fixmatch_threshold": 1.0}, "fixmatch threshold must be in"),
        ({"method": "fixmatch", "fixmatch_weight": -1.0}, "fixmatch weight must be >= 0"),
        ({"method": "adamatch", "adamatch_tau": 1.5}, "adamatch tau must be in"),
        ({"method": "adamatch", "adamatch_weight": float("inf")}, "adamatch weight must be >= 0 and finite"),
    ],
)
def test_bad_values_are_one_line_errors(options, fragment):
    with pytest.raises(ConfigError, match=fragment):
        resolve(AdaptConfig, options)


def test_both_evaluate_a_weight_average_by_default():
    assert resolve(AdaptConfig, {"method": "fixmatch"}).ema_decay == 0.999
    assert resolve(AdaptConfig, {"method": "adamatch"}).ema_decay == 0.999


@pytest.mark.parametrize("method", ["fixmatch", "adamatch"])
def test_both_take_the_authors_optimiser_unless_told_otherwise(method):
    """google-research/adamatch's SGD 0.03 with weight decay 1e-3: with advlab's SGD 0.01 and no
    decay a hard source was learnt too slowly and AdaMatch collapsed (benchmarks/small_target.py)."""
    chosen = resolve(AdaptConfig, {"method": method})
    assert (chosen.optimizer, chosen.lr, chosen.weight_decay) == ("sgd", 0.03, 1e-3)
    told = resolve(AdaptConfig, {"method": method, "lr": 0.01, "weight_decay": 0.0})
    assert (told.lr, told.weight_decay) == (0.01, 0.0)
