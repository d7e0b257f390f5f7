import torch

from advlab.methods.cdan import entropy, entropy_weights, multilinear_map
from methods.helpers import build, has_gradient, info, small_batch


def test_multilinear_map_is_the_flattened_outer_product():
    f = torch.tensor([[1.0, 2.0, 3.0]])
    p = torch.tensor([[0.25, 0.75]])
    assert torch.equal(multilinear_map(f, p), torch.tensor([[0.25, 0.5, 0.75, 0.75, 1.5, 2.25]]))
    assert multilinear_map(torch.randn(5, 768), torch.rand(5, 10)).shape == (5, 7680)


def test_multilinear_map_detaches_the_predictions():
    f = torch.randn(4, 3, requires_grad=True)
    logits = torch.randn(4, 2, requires_grad=True)
    multilinear_map(f, torch.softmax(logits, 1)).sum().backward()
    assert f.grad is not None and logits.grad is None


def test_discriminator_is_as_wide_as_the_map():
    method = build("cdan")
    assert method.heads["discriminator"][0].in_features == 768 * 10


def test_entropy_weights_favour_confident_examples_and_average_one():
    p = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    w = entropy_weights(p)
    assert torch.allclose(w.mean(), torch.tensor(1.0)) and w[0] > w[1]
    assert torch.allclose(entropy(torch.tensor([[0.5, 0.5]])), torch.tensor([0.6931]), atol=1e-3)


def test_gradients_reach_discriminator_and_features_reversed():
    method = build("cdan")
    _, parts = method.loss(small_batch(), info(lam=1.0))
    parts["dom"].backward()
    assert has_gradient(method.heads["discriminator"]) and has_gradient(method.model.features)
    # the predictions are detached in the map: the domain loss never trains the classifier's last layer
    assert method.model.classifier[4].weight.grad is None


def test_cdan_e_weights_differ_from_cdan():
    plain, entropic = build("cdan"), build("cdan_e")
    for method in (plain, entropic):  # confident, varied predictions so that the weights differ
        with torch.no_grad():
            method.model.classifier[4].weight.mul_(200)
    _, a = plain.loss(small_batch(), info())
    _, b = entropic.loss(small_batch(), info())
    assert torch.isfinite(b["dom"]) and not torch.allclose(a["dom"], b["dom"]) and torch.allclose(a["cls"], b["cls"])
