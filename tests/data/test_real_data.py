"""The shared copies of MNIST and MNIST-M load with the right structure (skipped without them)."""

import pytest

from advlab.data.domains import load_domain


@pytest.mark.slow
def test_real_mnist_and_mnist_m(real_data, tmp_path_factory, monkeypatch):
    mnist = load_domain("mnist", real_data, quiet=True)
    assert mnist.train.x.shape == (60000, 1, 28, 28) and mnist.test.x.shape == (10000, 1, 28, 28)
    mnist_m = load_domain("mnist_m", real_data, quiet=True)
    assert mnist_m.train.x.shape == (59001, 3, 28, 28) and mnist_m.test.x.shape == (9001, 3, 28, 28)
    # MNIST-M image k is MNIST digit k on a new background: the labels match exactly
    assert (mnist_m.train.y == mnist.train.y[:59001]).all() and (mnist_m.test.y == mnist.test.y[:9001]).all()


@pytest.mark.slow
def test_adapt_runs_on_a_real_subset(real_data, tmp_path):
    from advlab.cli import main

    out = tmp_path / "run"
    assert main(["adapt", "--data-dir", str(real_data), "--train-subset", "3000", "--test-subset", "1000", "--epochs", "2",
                 "--val-size", "200", "--threads", "1", "--out", str(out), "--quiet"]) == 0
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert summary["source_acc"] > 0.3  # well above chance (0.1) after two short epochs
