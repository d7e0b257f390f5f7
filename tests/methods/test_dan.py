import torch

from advlab.methods.dan import layer_outputs, mmd2
from methods.helpers import build, has_gradient, info, small_batch


def test_mmd_of_identical_sets_is_zero():
    x = torch.randn(16, 5)
    assert abs(mmd2(x, x.clone()).item()) < 1e-6


def test_mmd_grows_with_a_shift():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 4, generator=g), torch.randn(64, 4, generator=g)
    values = [mmd2(x, y + shift).item() for shift in (0.0, 0.5, 1.0, 2.0)]
    assert values == sorted(values) and values[0] >= 0 and values[-1] > 10 * values[0]


def test_layer_outputs_are_features_hidden_layers_and_logits():
    method = build("dan")
    f = torch.randn(3, 768)
    outs = layer_outputs(method.model.classifier, f)
    assert [o.shape[1] for o in outs] == [768, 100, 100, 10]
    assert torch.allclose(outs[-1], method.model.classifier(f))


def test_dan_loss_and_gradient():
    method = build("dan")
    loss, parts = method.loss(small_batch(), info(lam=0.5))
    assert torch.allclose(loss, parts["cls"] + 0.5 * parts["mmd"])
    parts["mmd"].backward()
    assert has_gradient(method.model.features)
