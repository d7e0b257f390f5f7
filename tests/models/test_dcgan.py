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
