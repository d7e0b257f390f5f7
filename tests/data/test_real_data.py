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
    assert (
        main(
            [
                "adapt",
                "--data-dir",
                str(real_data),
                "--train-subset",
                "3000",
                "--test-subset",
                "1000",
                "--epochs",
                "2",
                "--val-size",
                "200",
                "--threads",
                "1",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert summary["source_acc"] > 0.3  # well above chance (0.1) after two short epochs


@pytest.mark.slow
def test_stacked_mnist_is_three_real_digits_and_a_gan_trains_on_it(real_data, tmp_path):
    stacked = load_domain("stacked_mnist", real_data, quiet=True)
    mnist = load_domain("mnist", real_data, quiet=True)
    assert (
        stacked.train.x.shape == (60000, 3, 28, 28)
        and stacked.test.x.shape == (10000, 3, 28, 28)
        and stacked.num_classes == 1000
    )
    # every channel of an image is one MNIST training digit, and the label spells the three
    first = stacked.train.x[0]
    matches = [int((mnist.train.x[:, 0] == first[c]).all(dim=(1, 2)).nonzero()[0]) for c in range(3)]
    assert int(stacked.train.y[0]) == sum(int(mnist.train.y[m]) * w for m, w in zip(matches, (100, 10, 1)))

    from advlab.cli import main

    out = tmp_path / "gan"
    assert (
        main(
            [
                "gan",
                "--unconditional",
                "--dataset",
                "stacked_mnist",
                "--data-dir",
                str(real_data),
                "--train-subset",
                "640",
                "--epochs",
                "1",
                "--eval-samples",
                "0",
                "--g-width",
                "8",
                "--d-width",
                "8",
                "--threads",
                "1",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert (out / "samples_final.png").exists()
