import torch

from advlab.backbones.dtn import DTN


def test_three_strided_convolutions_take_32_pixels_to_4():
    model = DTN()
    convs = [m for m in model.features if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.stride) for c in convs] == [(64, (2, 2)), (128, (2, 2)), (256, (2, 2))]
    assert [m.p for m in model.features if isinstance(m, torch.nn.Dropout2d)] == [0.1, 0.3, 0.5]
    assert model.feature_dim == 512 and model.input_size == 32 and model.batch_statistic
