"""Batch norm's running statistics kept through chosen passes (advlab.nn.batchnorm), and VADA
and DIRT-T letting only the clean target batch move them, as the authors' code does."""

from __future__ import annotations

import copy

import torch
from torch import nn

from advlab.backbones.ganin_bn import GaninBN
from advlab.methods import METHODS
from advlab.nn.batchnorm import running_stats_kept
from advlab.train.config import AdaptConfig
from methods.helpers import info, small_batch


def stats(model: nn.Module) -> list[torch.Tensor]:
    return [b.clone() for name, b in model.named_buffers() if name.rsplit(".", 1)[-1].startswith(("running", "num"))]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def test_inside_the_batch_normalises_itself_and_the_running_statistics_stay():
    norm = nn.BatchNorm1d(3).train()
    x = torch.randn(8, 3) * 4 + 2
    before = stats(norm)
    with running_stats_kept(norm):
        inside = norm(x)
    assert same(stats(norm), before) and norm.track_running_stats
    assert torch.allclose(inside, (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + norm.eps), atol=1e-5)
    norm(x)  # outside: tracked again
    assert not same(stats(norm), before) and int(norm.num_batches_tracked) == 1


def test_a_network_without_batch_norm_is_untouched():
    linear = nn.Linear(2, 2)
    with running_stats_kept(linear):
        assert torch.equal(linear(torch.ones(1, 2)), linear(torch.ones(1, 2)))


def build(name: str, **options):
    """On ganin_bn without its dropout and noise, so that a pass repeated elsewhere is the same pass."""
    torch.manual_seed(0)
    quiet = {"ganin_bn_dropout": 0.0, "ganin_bn_noise": 0.0}
    cfg = AdaptConfig(method=name, backbone="ganin_bn", **quiet, **options)
    return METHODS[name](GaninBN(10, cfg.normalization, **quiet), cfg)


def target_pass_alone(model: nn.Module, images: torch.Tensor) -> list[torch.Tensor]:
    alone = copy.deepcopy(model).train()
    alone.classifier(alone.features(alone.input(images)))
    return stats(alone)


def test_vada_moves_the_running_statistics_by_the_clean_target_batch_alone():
    method = build("vada")
    batch = method.views(small_batch(), torch.Generator().manual_seed(0))
    expected = target_pass_alone(method.model, batch.xt)
    method.model.train()
    method.loss(batch, info())
    assert same(stats(method.model), expected)


def test_dirtt_moves_them_by_its_target_batch_and_asks_its_teacher_in_evaluation_mode():
    method = build("dirtt", init="unused")
    batch = method.views(small_batch(), torch.Generator().manual_seed(0))
    teacher_before = stats(method.teacher)
    expected = target_pass_alone(method.model, batch.xt)
    method.model.train()
    method.loss(batch, info())
    assert same(stats(method.model), expected)
    assert same(stats(method.teacher), teacher_before) and not method.teacher.training
