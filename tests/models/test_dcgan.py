import torch

from advlab.models.dcgan import Discriminator, Generator


def test_generator_concatenates_one_hot_label_to_noise():
    g = Generator(z_dim=100, num_classes=10, width=8)
    assert g.project[0].in_features == 110
    out = g(torch.randn(4, 100), torch.tensor([0, 1, 2, 9]))
    assert out.shape == (4, 1, 28, 28) and out.min() >= -1 and out.max() <= 1


def test_unconditional_generator_takes_noise_only():
    g = Generator(z_dim=100, num_classes=0, width=8)
    assert g.project[0].in_features == 100 and g(torch.randn(2, 100)).shape == (2, 1, 28, 28)


def test_discriminator_stacks_label_maps_as_channels():
    d = Discriminator(num_classes=10, width=8)
    assert d.net[0].in_channels == 11
    x = torch.randn(3, 1, 28, 28)
    assert d(x, torch.tensor([0, 5, 9])).shape == (3,)
    # the label really enters: the same image with another label gives another logit
    d.eval()
    assert not torch.allclose(d(x, torch.tensor([0, 0, 0])), d(x, torch.tensor([7, 7, 7])))


def test_discriminator_equals_stacking_the_label_maps_as_channels():
    torch.manual_seed(0)
    d = Discriminator(num_classes=10, width=8)
    d.net[0].bias.data.normal_()  # a non-zero bias must be added once, not once per part
    x, y = torch.randn(6, 1, 28, 28), torch.tensor([0, 3, 3, 5, 9, 1])
    maps = torch.nn.functional.one_hot(y, 10).float()[:, :, None, None].expand(-1, -1, 28, 28)
    d.eval()
    assert torch.allclose(d(x, y), d.net(torch.cat([x, maps], dim=1)).squeeze(1), atol=1e-5)


def test_discriminator_without_label():
    d = Discriminator(num_classes=0, width=8)
    assert d.net[0].in_channels == 1 and d(torch.randn(2, 1, 28, 28)).shape == (2,)


def test_dcgan_initialisation():
    g = Generator(width=16)
    w = g.upsample[0].weight
    assert abs(w.mean().item()) < 0.005 and abs(w.std().item() - 0.02) < 0.003


def test_packed_discriminator_judges_m_samples_at_a_time():
    d = Discriminator(num_classes=0, width=8, pack=2)
    assert d.net[0].in_channels == 2 and d(torch.randn(8, 1, 28, 28)).shape == (4,)
    # the packed input is the M consecutive images stacked as channels
    torch.manual_seed(0)
    x = torch.randn(4, 1, 28, 28)
    d.eval()
    assert torch.allclose(d(x), d.net(x.view(2, 2, 28, 28)).squeeze(1), atol=1e-6)


def test_packed_discriminator_with_label_channels_equals_stacking_everything():
    torch.manual_seed(0)
    d = Discriminator(num_classes=10, width=8, pack=2)
    assert d.net[0].in_channels == 2 * (1 + 10)
    d.net[0].bias.data.normal_()
    x, y = torch.randn(6, 1, 28, 28), torch.tensor([0, 3, 3, 5, 9, 1])
    maps = torch.nn.functional.one_hot(y, 10).float()[:, :, None, None].expand(-1, -1, 28, 28)
    stacked = torch.cat([x.reshape(3, 2, 28, 28), maps.reshape(3, 20, 28, 28)], dim=1)  # [x1 x2 ; y1's maps y2's maps]
    d.eval()
    assert torch.allclose(d(x, y), d.net(stacked).squeeze(1), atol=1e-5)


def test_projection_discriminator_adds_the_label_embedding_inner_product():
    torch.manual_seed(0)
    d = Discriminator(num_classes=10, width=8, conditioning="projection").eval()
    assert d.net[0].in_channels == 1  # y does not enter as channels
    x, y = torch.randn(3, 1, 28, 28), torch.tensor([1, 4, 4])
    features = d.net[:-1](x)
    expected = d.net[-1](features).squeeze(1) + (d.embed.weight[y] * features).sum(1)
    assert torch.allclose(d(x, y), expected, atol=1e-5)
    d(x, y).sum().backward()
    assert (
        d.embed.weight.grad[[1, 4]].abs().sum() > 0 and d.embed.weight.grad[0].abs().sum() == 0
    )  # only the labels used learn


def test_spectral_norm_bounds_every_layer_and_drops_batch_norm():
    torch.manual_seed(0)
    d = Discriminator(num_classes=10, width=8, conditioning="projection", spectral_norm=True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    for _ in range(30):  # the power iteration converges over forward passes in training mode
        d(torch.randn(4, 1, 28, 28), torch.randint(0, 10, (4,)))
    for layer in (d.net[0], d.net[2], d.net[6], d.embed):
        sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2).item()
        assert abs(sigma - 1) < 0.05, (layer, sigma)
    d(torch.randn(4, 1, 28, 28), torch.randint(0, 10, (4,))).sum().backward()
    assert d.net[0].parametrizations.weight.original.grad.abs().sum() > 0  # gradients reach the raw weights
