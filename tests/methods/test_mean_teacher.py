"""Mean-teacher self-ensembling on values worked by hand: the confidence mask, the masked
consistency, the class-balance term; the teacher's EMA update, its views, what is evaluated
and kept, and its options."""

import math

import pytest
import torch

from advlab.config import resolve
from advlab.errors import ConfigError
from advlab.methods.mean_teacher import class_balance, consistency
from advlab.train.config import AdaptConfig
from methods.helpers import build, info, small_batch


def test_only_images_the_teacher_is_sure_of_are_taught_and_the_rest_count_as_zero():
    teacher = torch.tensor([[0.98, 0.02], [0.6, 0.4]])
    student = torch.tensor([[0.5, 0.5], [0.5, 0.5]])
    loss, mask = consistency(student, teacher, 0.968)
    assert mask.tolist() == [1.0, 0.0]
    # image 0: ((0.48)^2 + (0.48)^2) / 2 classes; image 1 masked; mean over the 2 images
    assert loss.item() == pytest.approx(0.48**2 / 2)


def test_class_balance_is_smallest_for_a_uniform_mean_prediction():
    uniform = torch.full((4, 10), 0.1)
    coin = -(0.1 * math.log(0.1) + 0.9 * math.log(0.9)) * 10
    assert class_balance(uniform).item() == pytest.approx(coin, rel=1e-4)
    one_class = torch.zeros(4, 10)
    one_class[:, 0] = 1.0
    assert class_balance(one_class).item() > class_balance(uniform).item() + 1.0


def test_the_teacher_follows_the_student_as_an_ema_and_is_what_is_evaluated():
    method = build("mean_teacher")
    teacher = method.teacher
    assert method.eval_model() is teacher.model and teacher.model is not method.model
    before = [p.clone() for p in teacher.model.parameters()]
    with torch.no_grad():
        for p in method.model.parameters():
            p.add_(1.0)
    method.after_step(1000)  # past the warm-up cap: decay 0.99
    for old, new, student in zip(before, teacher.model.parameters(), method.model.parameters()):
        assert torch.allclose(new, 0.99 * old + 0.01 * student, atol=1e-6)


def test_the_views_are_two_independent_weak_ones_of_each_target_image():
    method = build("mean_teacher")
    seen = method.views(small_batch(), torch.Generator().manual_seed(0))
    assert seen.xt.dtype == torch.uint8 and seen.draws["teacher_view"].shape == seen.xt.shape
    assert not torch.equal(seen.xt, seen.draws["teacher_view"])
    again = method.views(small_batch(), torch.Generator().manual_seed(0))
    assert torch.equal(seen.draws["teacher_view"], again.draws["teacher_view"])


def test_the_loss_is_source_cross_entropy_plus_the_weighted_unsupervised_part():
    method = build("mean_teacher", mt_threshold=0.0)  # an untrained teacher is sure of nothing
    total, parts = method.loss(method.views(small_batch(), torch.Generator().manual_seed(0)), info())
    assert parts["confident"].item() == 1.0
    expected = parts["cls"] + 3.0 * (parts["consistency"] + 0.005 * parts["balance"])
    assert total.item() == pytest.approx(expected.item())
    total.backward()
    assert all(p.grad is None for p in method.teacher.model.parameters())  # the teacher only follows


def test_the_teacher_is_kept_in_the_checkpoint_and_restored():
    a, b = build("mean_teacher"), build("mean_teacher")
    with torch.no_grad():
        for p in a.teacher.model.parameters():
            p.mul_(2.0)
    b.load_state_dict(a.state_dict())
    assert all(torch.equal(x, y) for x, y in zip(a.teacher.model.parameters(), b.teacher.model.parameters()))


def test_the_authors_defaults_and_bad_values():
    cfg = resolve(AdaptConfig, {"method": "mean_teacher"})
    assert (cfg.optimizer, cfg.lr, cfg.mt_teacher_decay, cfg.mt_weight, cfg.mt_threshold) == (
        "adam",
        1e-3,
        0.99,
        3.0,
        0.968,
    )
    for options, fragment in (
        ({"mt_threshold": 1.0}, "mt threshold must be in"),
        ({"mt_weight": -1.0}, "mt weight must be >= 0"),
        ({"mt_teacher_decay": 1.0}, "mt teacher decay must be in"),
        ({"ema_decay": 0.9}, "mean_teacher evaluates its teacher"),
    ):
        with pytest.raises(ConfigError, match=fragment):
            resolve(AdaptConfig, {"method": "mean_teacher", **options})
