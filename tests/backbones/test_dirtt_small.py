import torch

from advlab.backbones.dirtt_small import DirttSmall
from advlab.nn import GaussianNoise


def test_nine_convolutions_of_64_split_after_the_second_block():
    model = DirttSmall()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 9 and {c.out_channels for c in convs} == {64} and {c.kernel_size for c in convs} == {(3, 3)}
    assert sum(isinstance(m, torch.nn.Conv2d) for m in model.features) == 6  # trim = 5: the last block classifies
    assert model.feature_dim == 64 * 8 * 8
    assert [m.std for m in model.features if isinstance(m, GaussianNoise)] == [1.0, 1.0]
    assert isinstance(model.features[0], torch.nn.InstanceNorm2d)
    assert isinstance(model.classifier[-1], torch.nn.BatchNorm1d)  # bn=True on every dense layer of theirs


def test_instance_norm_can_be_left_out():
    model = DirttSmall(dirtt_small_instance_norm=False)
    assert isinstance(model.features[0], torch.nn.Identity)
    assert model.constructor_args()["dirtt_small_instance_norm"] is False
