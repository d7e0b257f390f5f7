import torch

from advlab.methods import Batch
from advlab.nn import GradientReversal, grad_reverse, scale_grad
from methods.helpers import build, info


def test_forward_is_identity():
    x = torch.randn(4, 7)
    assert torch.equal(grad_reverse(x, 0.3), x)
    assert torch.equal(GradientReversal(2.0)(x), x)


def test_backward_is_minus_lambda_times_incoming_gradient():
    x = torch.randn(5, 3, requires_grad=True)
    upstream = torch.randn(5, 3)
    grad_reverse(x, 0.7).backward(upstream)
    assert torch.allclose(x.grad, -0.7 * upstream)


def test_module_coefficient_can_change_between_steps():
    layer = GradientReversal(1.0)
    x = torch.ones(3, requires_grad=True)
    for lam in (0.0, 0.5, 2.0):
        layer.lam = lam
        x.grad = None
        layer(x).sum().backward()
        assert torch.allclose(x.grad, torch.full((3,), -lam))


def test_scale_grad_keeps_sign_for_positive_factor():
    x = torch.ones(2, requires_grad=True)
    (scale_grad(x, 3.0) * 2).sum().backward()
    assert torch.allclose(x.grad, torch.full((2,), 6.0))


def _feature_grads(method_name: str, lam: float, domain_only: bool) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    method = build(method_name)
    gen = torch.Generator().manual_seed(1)
    batch = Batch(
        torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8, generator=gen),
        torch.randint(0, 10, (8,), generator=gen),
        torch.randint(0, 256, (8, 3, 28, 28), dtype=torch.uint8, generator=gen),
        None,
    )
    _, parts = method.loss(batch, info(lam))
    (parts["dom"] if domain_only else parts["cls"] + parts["dom"]).backward()
    return [p.grad.clone() for p in method.model.features.parameters()], [
        p.grad.clone() for p in method.heads["discriminator"].parameters()
    ]


def test_domain_loss_reaches_feature_extractor_reversed_in_dann_and_not_in_ablation():
    lam = 0.4
    f_dann, d_dann = _feature_grads("dann", lam, domain_only=True)
    f_plain, d_plain = _feature_grads("dann_no_grl", lam, domain_only=True)
    for a, b in zip(f_dann, f_plain):
        assert b.abs().sum() > 0
        assert torch.allclose(a, -b, atol=1e-6)  # same magnitude, opposite sign
    for a, b in zip(d_dann, d_plain):  # the domain classifier itself always minimises its loss
        assert torch.allclose(a, b)


def test_domain_gradient_into_features_scales_with_lambda():
    f1, _ = _feature_grads("dann_no_grl", 1.0, domain_only=True)
    f_half, _ = _feature_grads("dann_no_grl", 0.5, domain_only=True)
    for a, b in zip(f1, f_half):
        assert torch.allclose(0.5 * a, b, atol=1e-6)
