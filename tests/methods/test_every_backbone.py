"""Every method runs with every backbone: one training step each, on tiny batches at the
backbone's input size (the methods are written against the protocol, not one network)."""

import pytest
import torch

from advlab.backbones import BACKBONES
from advlab.methods import METHODS, Batch
from advlab.train.config import AdaptConfig
from methods.helpers import info


def batch(size: int, target_labels: bool) -> Batch:
    g = torch.Generator().manual_seed(0)
    return Batch(
        torch.randint(0, 256, (6, 1, size, size), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (6,), generator=g),
        torch.randint(0, 256, (6, 3, size, size), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (6,), generator=g) if target_labels else None,
        torch.randint(0, 10, (6,), generator=g),  # pseudo-labels, for the method that reads them
    )


@pytest.mark.parametrize("backbone", list(BACKBONES))
@pytest.mark.parametrize("name", list(METHODS))
def test_one_step_of_every_method_on_every_backbone(name, backbone):
    torch.manual_seed(0)
    extra = {"init": "unused"} if METHODS[name].needs_init else {}
    extra |= {"pl_threshold": 0.0} if name == "pseudo_label" else {}  # an untrained network is confident of nothing
    cfg = AdaptConfig(method=name, backbone=backbone, batch_size=6, **extra)
    model = BACKBONES[backbone].from_config(cfg, 10)
    method = METHODS[name](model, cfg)
    optimizers = method.optimizers(lambda p: torch.optim.SGD(p, lr=0.01))
    before = [p.detach().clone() for p in model.parameters()]
    target_images = torch.randint(0, 256, (20, 3, model.input_size, model.input_size), dtype=torch.uint8)
    method.begin_epoch(1, target_images, "cpu")  # pseudo-labelling labels them, ADDA freezes its encoder
    drawn = batch(model.input_size, METHODS[name].needs.target_labels)
    seen = method.views(drawn, torch.Generator().manual_seed(1))  # as the trainer does: the method's views first
    parts = method.train_step(seen, info(epoch=1), optimizers)
    assert parts and all(torch.isfinite(v) for v in parts.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters())), "the step changed no weight"
