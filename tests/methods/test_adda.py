import torch

from methods.helpers import build, info, small_batch


def _adam_optimizers(method):
    return method.optimizers(lambda p: torch.optim.SGD(p, lr=0.1))


def test_stage_one_trains_a_source_classifier_only():
    method = build("adda", epochs=4)
    assert method.source_epochs == 2
    opts = _adam_optimizers(method)
    d_before = [p.clone() for p in method.heads["discriminator"].parameters()]
    parts = method.train_step(small_batch(), info(epoch=0), opts)
    assert set(parts) == {"cls"}
    assert all(torch.equal(a, b) for a, b in zip(d_before, method.heads["discriminator"].parameters()))


def test_stage_two_freezes_source_encoder_and_classifier():
    method = build("adda", epochs=4)
    opts = _adam_optimizers(method)
    method.begin_epoch(2, None, torch.device("cpu"))  # the stage starts: source encoder = G_f now
    source_before = [p.clone() for p in method.heads["source_encoder"].parameters()]
    classifier_before = [p.clone() for p in method.model.classifier.parameters()]
    features_before = [p.clone() for p in method.model.features.parameters()]
    parts = method.train_step(small_batch(), info(epoch=2), opts)
    assert set(parts) == {"dom", "adv"}
    assert all(torch.equal(a, b) for a, b in zip(source_before, method.heads["source_encoder"].parameters()))
    assert all(torch.equal(a, b) for a, b in zip(classifier_before, method.model.classifier.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(features_before, method.model.features.parameters()))
    assert not any(p.requires_grad for p in method.heads["source_encoder"].parameters())


def test_with_init_it_adapts_from_the_first_epoch():
    assert build("adda", epochs=4, init="somewhere").source_epochs == 0
    assert build("adda", epochs=4, adda_source_epochs=1).source_epochs == 1


def test_inverted_label_loss_is_bce_against_source():
    method = build("adda", epochs=2)
    method.begin_epoch(1, None, torch.device("cpu"))
    opts = _adam_optimizers(method)
    parts = method.train_step(small_batch(), info(epoch=1), opts)
    assert parts["adv"] > 0 and parts["dom"] > 0
