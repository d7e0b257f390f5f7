import torch

from advlab.backbones.lenet import LeNet


def test_layers_follow_tllibs_lenet():
    model = LeNet()
    convs = [m for m in model.features if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [(1, 20, (5, 5)), (20, 50, (5, 5))]
    assert model.feature_dim == 500 and model.input_size == 28 and model.input_channels == 1
    assert isinstance(model.classifier, torch.nn.Linear) and model.classifier.out_features == 10
