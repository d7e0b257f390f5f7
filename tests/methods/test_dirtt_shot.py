"""DIRT-T and SHOT, the two methods that start from a finished run, on values worked by
hand: information maximisation, SHOT's centroid labels, DIRT-T's teacher and its refresh,
SHOT's frozen last layer and the space it clusters in; their options."""

import math

import pytest
import torch
from torch import nn

from advlab.config import resolve
from advlab.errors import ConfigError
from advlab.methods.shot import centroid_labels, information_maximisation, split_hypothesis
from advlab.train.config import AdaptConfig
from methods.helpers import build, info, small_batch


def test_information_maximisation_by_hand():
    sure_and_spread = torch.tensor([[50.0, 0.0], [0.0, 50.0]])
    assert information_maximisation(sure_and_spread).item() == pytest.approx(-math.log(2), abs=1e-4)
    sure_of_one_class = torch.tensor([[50.0, 0.0], [50.0, 0.0]])
    assert information_maximisation(sure_of_one_class).item() == pytest.approx(0.0, abs=1e-4)
    unsure = torch.zeros(2, 2)
    assert information_maximisation(unsure).item() == pytest.approx(0.0, abs=1e-4)  # log 2 - log 2


def test_centroid_labels_follow_the_clusters_not_the_classifier():
    # two tight clusters; the classifier calls one image of cluster B class 0 (wrongly)
    features = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [0.05, 1.0]])
    probs = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    assert centroid_labels(features, probs).tolist() == [0, 0, 1, 1, 1]


def test_a_class_nobody_is_predicted_is_never_a_label():
    features = torch.randn(6, 4)
    probs = torch.softmax(torch.tensor([[2.0, 0.0, 1.9]] * 6) + 0.01 * torch.randn(6, 3), dim=1)
    probs[:, 2] = 0.0  # class 2 is nobody's prediction
    assert set(centroid_labels(features, probs).tolist()) <= set(probs.argmax(1).tolist()) <= {0, 1}


def test_shot_freezes_the_last_layer_only_and_learns_from_target_images():
    method = build("shot", init="unused")
    optimizers = method.optimizers(lambda p: torch.optim.SGD(p, lr=0.1))
    last, hidden = method.model.classifier[-1], method.model.classifier[0]
    assert method.hypothesis is last
    frozen, trained = [p.clone() for p in last.parameters()], hidden.weight.clone()
    method.begin_epoch(0, torch.randint(0, 256, (30, 3, 28, 28), dtype=torch.uint8), torch.device("cpu"))
    indices, labels = method.target_pool()
    assert len(indices) == len(labels) == 30
    batch = small_batch()
    batch.pt = labels[:4]
    parts = method.train_step(batch, info(), optimizers)
    assert set(parts) == {"im", "pseudo"}
    assert all(torch.equal(a, b) for a, b in zip(frozen, last.parameters()))
    assert not torch.equal(trained, hidden.weight)  # G_y's hidden layers adapt with G_f


def test_shot_clusters_in_the_space_its_frozen_layer_reads():
    method = build("shot", init="unused")
    images = torch.randint(0, 256, (40, 3, 28, 28), dtype=torch.uint8)
    method.begin_epoch(0, images, torch.device("cpu"))
    with torch.no_grad():
        model = method.model.eval()
        penultimate = model.classifier[:-1](model.embed(images))
        expected = centroid_labels(penultimate, torch.softmax(model.classifier[-1](penultimate), dim=1))
    assert torch.equal(method.labels, expected)


def test_shot_warns_where_the_layers_it_adapts_have_no_batch_norm():
    [said] = build("shot", init="unused").caveats()
    assert said.startswith("backbone ganin has no batch norm in the layers shot adapts") and "ganin_bn" in said
    from advlab.backbones.ganin_bn import GaninBN
    from advlab.methods import METHODS
    from advlab.train.config import AdaptConfig

    cfg = AdaptConfig(method="shot", init="unused", backbone="ganin_bn")
    assert METHODS["shot"](GaninBN(10, cfg.normalization), cfg).caveats() == []


def test_the_hypothesis_is_the_last_linear_layer_or_the_whole_head():
    mlp = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    body, hypothesis = split_hypothesis(mlp)
    assert hypothesis is mlp[2] and [type(m) for m in body] == [nn.Linear, nn.ReLU]
    linear = nn.Linear(4, 2)
    body, hypothesis = split_hypothesis(linear)
    assert hypothesis is linear and isinstance(body, nn.Identity)
    pooled = nn.Sequential(nn.Linear(4, 2), nn.Softplus())  # does not end in a linear layer: frozen whole
    assert split_hypothesis(pooled)[1] is pooled


def test_dirtt_stays_near_a_teacher_that_is_refreshed_every_k_steps():
    method = build("dirtt", init="unused", dirtt_refresh=3)
    teacher = method.teacher
    assert teacher is not method.model and not any(p.requires_grad for p in teacher.parameters())
    start = [p.clone() for p in teacher.parameters()]
    seen = method.views(small_batch(), torch.Generator().manual_seed(0))
    total, parts = method.loss(seen, info())
    assert parts["kl_teacher"].item() == pytest.approx(0.0, abs=1e-6)  # the teacher is the student at first
    with torch.no_grad():
        for p in method.model.parameters():
            p.add_(0.1)
    method.after_step(0)
    method.after_step(1)
    assert all(torch.equal(a, b) for a, b in zip(start, teacher.parameters()))  # not yet
    method.after_step(2)  # the third step: refreshed (no weight average here: from the student)
    assert all(torch.equal(a, b) for a, b in zip(teacher.parameters(), method.model.parameters()))


def test_the_authors_defaults_and_bad_values():
    cfg = resolve(AdaptConfig, {"method": "dirtt", "init": "somewhere"})
    assert (cfg.optimizer, cfg.lr, cfg.ema_decay, cfg.dirtt_refresh) == ("adam", 1e-3, 0.998, 5000)
    shot = resolve(AdaptConfig, {"method": "shot", "init": "x"})
    assert shot.shot_pseudo_weight == 0.1 and shot.weight_decay == 1e-3  # uda_digit.py's target phase
    for options, fragment in (
        ({"method": "dirtt", "init": "x", "dirtt_refresh": 0}, "dirtt refresh must be > 0"),
        ({"method": "dirtt", "init": "x", "dirtt_teacher_weight": -1.0}, "dirtt teacher weight must be >= 0"),
        ({"method": "shot", "init": "x", "shot_im_weight": float("nan")}, "shot im weight must be >= 0"),
        ({"method": "shot"}, "pass --init RUN_DIR"),
    ):
        with pytest.raises(ConfigError, match=fragment):
            resolve(AdaptConfig, options)
