import torch

from advlab.backbones.ganin import GaninNet
from advlab.backbones.ganin_bn import GaninBN
from advlab.nn import GaussianNoise


def test_ganins_layers_with_batch_norm_dropout_and_noise():
    model, plain = GaninBN(), GaninNet()
    convs = [(c.in_channels, c.out_channels) for c in model.features if isinstance(c, torch.nn.Conv2d)]
    assert convs == [(c.in_channels, c.out_channels) for c in plain.features if isinstance(c, torch.nn.Conv2d)]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.features) == 2
    assert [m.std for m in model.features if isinstance(m, GaussianNoise)] == [1.0]
    assert model.feature_dim == plain.feature_dim == 768


def test_noise_only_while_training():
    noise = GaussianNoise(1.0)
    x = torch.zeros(1000)
    assert torch.equal(noise.eval()(x), x)
    drawn = noise.train()(x)
    assert 0.9 < drawn.std() < 1.1 and abs(drawn.mean()) < 0.1
    assert torch.equal(GaussianNoise(0.0).train()(x), x)
