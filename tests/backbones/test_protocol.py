"""The backbone protocol, for every registered backbone: what methods, analysis and
checkpoints rely on."""

import pytest
import torch

from advlab.backbones import BACKBONES, build_backbone
from advlab.nn.input import LUMA

NAMES = list(BACKBONES)


def images(backbone, n: int = 4, channels: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    size = backbone.input_size
    return torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=g)


@pytest.mark.parametrize("name", NAMES)
def test_features_and_logits_have_the_declared_widths(name):
    model = BACKBONES[name](num_classes=7).eval()
    for channels in (1, 3):  # grey and colour images both reach every backbone
        x = images(model, channels=channels)
        assert model.embed(x).shape == (4, model.feature_dim)
        assert model(x).shape == (4, 7)
        assert torch.equal(model(x), model.classifier(model.embed(x)))
    assert model.make_classifier()(model.embed(x)).shape == (4, 7)
    assert model.about and model.input_size in (28, 32) and model.input_channels in (1, 3)


@pytest.mark.parametrize("name", NAMES)
def test_constructor_args_rebuild_the_same_network(name):
    torch.manual_seed(0)
    model = BACKBONES[name](num_classes=5, normalization="per_image")
    rebuilt = build_backbone(name, model.constructor_args())
    rebuilt.load_state_dict(model.state_dict())
    x = images(model)
    assert torch.equal(model.eval()(x), rebuilt.eval()(x))
    assert rebuilt.constructor_args() == model.constructor_args()


@pytest.mark.parametrize("name", NAMES)
def test_eval_mode_is_deterministic_and_training_mode_draws_from_the_global_generator(name):
    model = BACKBONES[name]()
    x = images(model, n=8)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    torch.manual_seed(1)
    first = model(x)
    torch.manual_seed(1)
    assert torch.equal(first, model(x))  # the trainer seeds it per step: a resume redraws the same


@pytest.mark.parametrize("name", NAMES)
def test_unknown_option_is_refused(name):
    with pytest.raises(TypeError, match="has no option"):
        BACKBONES[name](num_classes=10, no_such_option=1)


@pytest.mark.parametrize("name", NAMES)
def test_options_are_named_after_their_backbone(name):
    assert all(option.startswith(name + "_") for option in BACKBONES[name].options)


def test_a_grey_backbone_sees_a_colour_image_as_its_luma():
    model = BACKBONES["lenet"]().eval()
    colour = images(model, n=2)
    grey = (colour.float() * torch.tensor(LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)
    assert torch.allclose(model.input(colour), model.input(grey.round().to(torch.uint8)), atol=0.02)
