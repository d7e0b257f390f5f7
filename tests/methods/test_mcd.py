import torch

from advlab.methods.mcd import classifier_discrepancy
from methods.helpers import build, info, small_batch


def test_discrepancy_is_mean_absolute_softmax_difference():
    a = torch.tensor([[0.0, 0.0]])  # softmax (0.5, 0.5)
    b = torch.tensor([[0.0, torch.log(torch.tensor(3.0))]])  # softmax (0.25, 0.75)
    assert abs(classifier_discrepancy(a, b).item() - 0.25) < 1e-6
    assert classifier_discrepancy(a, a).item() == 0.0


def test_two_optimizers_over_disjoint_parts():
    method = build("mcd")
    opts = method.optimizers(lambda p: torch.optim.SGD(p, lr=0.1))
    ids = {name: {id(p) for g in o.param_groups for p in g["params"]} for name, o in opts.items()}
    assert not ids["features"] & ids["classifiers"]
    assert {id(p) for p in method.heads["classifier2"].parameters()} <= ids["classifiers"]


def test_step_c_moves_only_the_features():
    """With num_k steps of C after A and B, the classifiers change exactly as A and B say."""
    method = build("mcd", mcd_num_k=3)
    opts = method.optimizers(lambda p: torch.optim.SGD(p, lr=0.1))
    b = small_batch()
    parts = method.train_step(b, info(lam=1.0), opts)
    assert set(parts) == {"cls", "discrepancy"}
    assert all(p.requires_grad for p in method.heads["classifier2"].parameters())  # restored after C
    # the same step with num_k = 0 steps of C leaves identical classifiers
    other = build("mcd", mcd_num_k=3)
    other.cfg.mcd_num_k = 0
    other.train_step(b, info(lam=1.0), other.optimizers(lambda p: torch.optim.SGD(p, lr=0.1)))
    for p, q in zip(method.heads.parameters(), other.heads.parameters()):
        assert torch.allclose(p, q)
    assert any(
        not torch.allclose(p, q) for p, q in zip(method.model.features.parameters(), other.model.features.parameters())
    )
