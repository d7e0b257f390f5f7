import torch

from advlab.backbones.ganin import GaninNet
from advlab.nn import InputNorm


def test_shapes_follow_ganins_mnist_network():
    model = GaninNet()
    x = torch.randint(0, 256, (5, 3, 28, 28), dtype=torch.uint8)
    assert model.embed(x).shape == (5, 768)
    assert model(x).shape == (5, 10)
    convs = [m for m in model.features if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [(3, 32, (5, 5)), (32, 48, (5, 5))]
    assert [m.out_features for m in model.classifier if isinstance(m, torch.nn.Linear)] == [100, 100, 10]
    assert model.constructor_args() == {"num_classes": 10, "normalization": "global"}


def test_grey_input_is_replicated_to_three_channels():
    grey = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8)
    model = GaninNet()
    assert torch.allclose(model(grey), model(grey.expand(-1, 3, -1, -1)), atol=1e-5)


def test_input_normalisations():
    x = torch.randint(0, 256, (4, 3, 28, 28), dtype=torch.uint8)
    per_image = InputNorm("per_image")(x)
    assert torch.allclose(per_image.mean(dim=(1, 2, 3)), torch.zeros(4), atol=1e-5)
    assert torch.allclose(per_image.std(dim=(1, 2, 3)), torch.ones(4), atol=1e-4)
    fixed = InputNorm("global")(torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2))
    assert fixed[0, :, 0, 0].tolist() == [-1, -1, -1] and fixed[0, :, 0, 1].tolist() == [1, 1, 1]


def test_per_image_normalisation_by_hand():
    # one 1 x 1 x 2 image, pixels 0 and 255: mean 0.5, sample std sqrt(0.5) -> -/+ 1/sqrt(2)
    two = InputNorm("per_image", channels=1)(torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2))
    assert torch.allclose(two.flatten(), torch.tensor([-(0.5**0.5), 0.5**0.5]))
    # a blank image has no spread: the std's floor keeps it finite (all zeros), never NaN
    blank = InputNorm("per_image")(torch.full((2, 3, 28, 28), 7, dtype=torch.uint8))
    assert torch.equal(blank, torch.zeros_like(blank))
    # the same as Tensor.std's answer, within fp32 rounding, on real-looking images
    x = torch.randint(0, 256, (8, 3, 28, 28), dtype=torch.uint8)
    f = x.float() / 255
    expected = (f - f.mean(dim=(1, 2, 3), keepdim=True)) / f.std(dim=(1, 2, 3), keepdim=True)
    assert torch.allclose(InputNorm("per_image")(x), expected, atol=1e-6)
