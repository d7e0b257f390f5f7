"""The GAN games: their losses on outputs whose losses are known by hand, the gradient
penalty on critics whose gradient is known, the steps' effect on each player, and each
game's collapse rule."""

import math

import pytest
import torch
from torch import nn

from advlab.gan.games import COLLAPSE_WINDOW, GAMES, Players

LOGITS = torch.tensor([2.0, 0.0, -1.0])
ns, hinge, wgan = GAMES["ns"](), GAMES["hinge"](), GAMES["wgan_gp"]()


def test_ns_is_binary_cross_entropy():
    zero = torch.zeros(4)
    assert ns.real_term(zero).item() == pytest.approx(math.log(2))
    assert ns.fake_term(zero).item() == pytest.approx(math.log(2))
    # -log sigmoid(x) for G (non-saturating), -log(1 - sigmoid(x)) for D's fakes
    expected_g = sum(math.log1p(math.exp(-x)) for x in (2.0, 0.0, -1.0)) / 3
    expected_fake = sum(math.log1p(math.exp(x)) for x in (2.0, 0.0, -1.0)) / 3
    assert ns.generator_term(LOGITS).item() == pytest.approx(expected_g)
    assert ns.fake_term(LOGITS).item() == pytest.approx(expected_fake)


def test_hinge_by_hand():
    assert hinge.real_term(LOGITS).item() == pytest.approx((0 + 1 + 2) / 3)  # max(0, 1 - x)
    assert hinge.fake_term(LOGITS).item() == pytest.approx((3 + 1 + 0) / 3)  # max(0, 1 + x)
    assert hinge.generator_term(LOGITS).item() == pytest.approx(-1 / 3)  # -mean(x)


def test_hinge_gives_no_gradient_beyond_the_margin():
    x = torch.tensor([3.0, 0.5], requires_grad=True)
    hinge.real_term(x).backward()
    assert x.grad.tolist() == [0.0, -0.5]  # the confident one is left alone


def test_wasserstein_terms_are_the_critics_means():
    assert wgan.real_term(LOGITS).item() == pytest.approx(-1 / 3)  # D raises its real scores
    assert wgan.fake_term(LOGITS).item() == pytest.approx(1 / 3)  # and lowers G's
    assert wgan.generator_term(LOGITS).item() == pytest.approx(-1 / 3)  # G raises its own
    # the log reads a critic's raw scores (no sigmoid: any sign), a probability elsewhere
    assert [v.item() for v in wgan.scores(LOGITS, -LOGITS)] == pytest.approx([1 / 3, -1 / 3])
    assert ns.scores(torch.zeros(2), torch.zeros(2))[0].item() == 0.5
    assert (wgan.n_critic, wgan.adam, wgan.d_batch_norm, wgan.gradient_penalty) == (5, (1e-4, 0.0, 0.9), False, 10.0)


class Linear(nn.Module):
    """D(x) = <w, x> (per image, or per packed group of `pack` images): its gradient is w
    everywhere, so the penalty is known by hand."""

    def __init__(self, w: torch.Tensor, pack: int = 1):
        super().__init__()
        self.w, self.pack = nn.Parameter(w), pack

    def forward(self, x, y=None):
        return (x.reshape(len(x) // self.pack, -1) * self.w.repeat(self.pack)).sum(1)


@pytest.mark.parametrize("norm", [1.0, 3.0, 0.5])
def test_the_gradient_penalty_is_weight_times_the_squared_distance_of_the_norm_from_one(norm):
    w = torch.zeros(4)
    w[0] = norm  # |grad D| = norm at every point between real and fake
    real, fake = torch.randn(6, 1, 2, 2), torch.randn(6, 1, 2, 2)
    got = wgan.penalty(Linear(w), real, fake, torch.zeros(6, dtype=torch.long), torch.Generator().manual_seed(0))
    assert got.item() == pytest.approx(10.0 * (norm - 1) ** 2)
    assert GAMES["wgan_gp"](2.5).penalty(Linear(w), real, fake, None, torch.Generator()).item() == pytest.approx(
        2.5 * (norm - 1) ** 2
    )
    assert GAMES["wgan_gp"](0.0).penalty(Linear(w), real, fake, None, torch.Generator()) is None
    assert ns.penalty(Linear(w), real, fake, None, torch.Generator()) is None


def test_the_penalty_of_a_packed_critic_is_over_each_packed_input():
    w = torch.tensor([0.6, 0.0, 0.0, 0.0])  # per image 0.6; over a pack of two images sqrt(2) * 0.6
    real, fake = torch.randn(4, 1, 2, 2), torch.randn(4, 1, 2, 2)
    got = wgan.penalty(Linear(w, pack=2), real, fake, None, torch.Generator().manual_seed(1))
    assert got.item() == pytest.approx(10.0 * (math.sqrt(2) * 0.6 - 1) ** 2)


def test_the_penalty_takes_gradients_to_the_critics_weights():
    d = Linear(torch.tensor([3.0, 0.0, 0.0, 0.0]))
    wgan.penalty(d, torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2), None, torch.Generator()).backward()
    assert d.w.grad[0].item() == pytest.approx(10.0 * 2 * (3.0 - 1))  # d/dw of 10 (|w| - 1)^2


class TinyG(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(2, 4)

    def forward(self, z, y=None):
        return self.net(z).view(len(z), 1, 2, 2)


def players(mismatch: float = 0.0) -> Players:
    torch.manual_seed(0)
    g, d = TinyG(), Linear(torch.randn(4))
    return Players(g, d, torch.optim.SGD(g.parameters(), lr=0.1), torch.optim.SGD(d.parameters(), lr=0.1), 3, mismatch)


@pytest.mark.parametrize("name", list(GAMES))
def test_a_d_step_moves_d_only_and_a_g_step_moves_g_only(name):
    game, p = GAMES[name](), players()
    g_before, d_before = p.g.net.weight.clone(), p.d.w.clone()
    real, y, z = torch.randn(4, 1, 2, 2), torch.zeros(4, dtype=torch.long), torch.randn(4, 2)
    done = game.d_step(p, real, y, p.g(z, y), torch.Generator().manual_seed(0))
    assert torch.equal(p.g.net.weight, g_before) and not torch.equal(p.d.w, d_before)
    assert done.d_real.shape == done.d_fake.shape == (4,) and done.loss_d.ndim == 0
    d_now = p.d.w.clone()
    game.g_step(p, p.g(z, y), y)
    assert torch.equal(p.d.w, d_now) and not torch.equal(p.g.net.weight, g_before)
    assert p.d.w.requires_grad  # D's weights learn again in the next D step


def test_the_mismatch_term_counts_real_images_under_a_wrong_label_as_fake():
    class ByLabel(nn.Module):  # a D that scores a real image by its label alone
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.tensor([0.0, 5.0, -5.0]))

        def forward(self, x, y):
            return self.w[y] + 0 * x.flatten(1).sum(1)

    p = players(mismatch=1.0)
    p.d, p.opt_d = ByLabel(), torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.0)
    real, y = torch.randn(2, 1, 2, 2), torch.zeros(2, dtype=torch.long)
    plain = ns.real_term(p.d(real, y)) + ns.fake_term(p.d(real, y))
    done = ns.d_step(p, real, y, real, torch.Generator().manual_seed(0))
    wrong = (y + torch.randint(1, 3, y.shape, generator=torch.Generator().manual_seed(0))) % 3
    assert done.loss_d.item() == pytest.approx((plain + ns.fake_term(p.d(real, wrong))).item())


def rows(loss_d: float, d_x: float = 0.5, d_g_z: float = 0.5, n: int = COLLAPSE_WINDOW) -> list[list[float]]:
    return [[loss_d, 1.0, d_x, d_g_z]] * n


def test_a_d_that_wins_outright_for_the_whole_window_is_a_collapse():
    assert "D loss stayed below 0.01" in ns.collapse(rows(0.005), 784)
    assert hinge.collapse(rows(0.0), 784) is not None
    assert ns.collapse(rows(0.005, n=COLLAPSE_WINDOW - 1), 784) is None  # not yet a whole window
    assert ns.collapse(rows(0.005) + rows(0.5, n=1), 784) is None  # one iteration of a contest
    assert ns.collapse(rows(-3.0), 784) is not None  # (a loss this game never gives; the rule reads it as D winning)


def test_a_critic_is_lost_only_when_its_gap_passes_what_a_lipschitz_critic_can_reach():
    # 28 x 28 grey images in [-1, 1]: a 1-Lipschitz critic's gap is at most 2 sqrt(784) = 56
    assert ns.collapse(rows(-3.0), 784) is not None and wgan.collapse(rows(-3.0, d_x=2.0, d_g_z=0.5), 784) is None
    assert wgan.collapse(rows(-19.0, d_x=10.0, d_g_z=-9.0), 784) is None  # WGAN-GP's early peak (measured: 17-19)
    assert "stayed above 56" in wgan.collapse(rows(-130.0, d_x=70.0, d_g_z=-60.0), 784)
    wide = rows(-100.0, d_x=50.0, d_g_z=-50.0)
    assert wgan.collapse(wide, 784) is not None and wgan.collapse(wide, 3 * 32 * 32) is None  # bound 111 there
    narrow = rows(-130.0, d_x=70.0, d_g_z=-60.0, n=COLLAPSE_WINDOW - 1) + rows(-1.0, d_x=1.0, d_g_z=0.0, n=1)
    assert wgan.collapse(narrow, 784) is None


def test_every_game_says_what_its_scores_are():
    for game in GAMES.values():
        assert game.score in ("probability", "critic") and game.about and game.n_critic >= 1
