import numpy as np
import torch

from advlab.methods import Batch
from advlab.methods.dan import layer_outputs, mmd2
from advlab.metrics.degeneracy import degeneracy
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


def test_mmd_gradient_has_no_pull_towards_a_smaller_scale_no_crash():
    # the batch's bandwidth makes MMD^2 blind to scale; with the gradient cut at the bandwidth,
    # shrinking a layer lowered it anyway (issue 22: the pull that killed G_f's ReLUs)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 8, generator=g).requires_grad_()
    y = torch.randn(32, 8, generator=g) + 0.5
    (grad,) = torch.autograd.grad(mmd2(x, y), x)
    assert abs(mmd2(0.1 * x, 0.1 * y).item() - mmd2(x, y).item()) < 1e-5
    # along the scale of the whole joint batch the derivative is zero (the target half moves with it)
    radial = (grad * x).sum() + (torch.autograd.grad(mmd2(x.detach(), y.requires_grad_()), y)[0] * y).sum()
    assert abs(radial.item()) < 1e-5 * grad.norm().item() * x.norm().item()


def test_dan_from_scratch_learns_the_source_task_no_crash_into_zero_features(tiny_domains):
    """Issue 22: 60 SGD steps at full weight drove G_f to all-zero features (MMD^2 exactly 0,
    cross-entropy above ln 10, source at chance); source-only reaches 1.0 here."""
    source, target = (np.load(path) for path in tiny_domains)
    xs, ys = torch.from_numpy(source["x_train"]).unsqueeze(1), torch.from_numpy(source["y_train"]).long()
    xt = torch.from_numpy(target["x_train"])
    method = build("dan")
    optimizer = torch.optim.SGD(method.model.parameters(), lr=0.01, momentum=0.9)
    g = torch.Generator().manual_seed(0)
    for _ in range(60):
        i, j = torch.randint(0, len(xs), (32,), generator=g), torch.randint(0, len(xt), (32,), generator=g)
        loss, _ = method.loss(Batch(xs[i], ys[i], xt[j], None), info(lam=1.0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        features = method.model.embed(xs)
        accuracy = (method.model.classifier(features).argmax(1) == ys).float().mean().item()
    assert degeneracy(10, source_val_acc=accuracy, features=features) is None
    assert accuracy > 0.5
