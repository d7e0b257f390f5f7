"""`advlab gan` end to end on a tiny synthetic data set (metrics need MNIST, so they are off here)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from advlab.cli import main
from advlab.gan.config import DEFAULT_MISMATCH
from tests_helpers import assert_one_line_error, run_here

GAN_QUICK = ["gan", "--epochs", "2", "--batch-size", "50", "--g-width", "8", "--d-width", "4", "--eval-samples", "0"]
GAN_QUICK += ["--threads", "1", "--quiet"]


def gan(tiny_domains, out: Path, *extra: str) -> int:
    return main([*GAN_QUICK, "--dataset", str(tiny_domains[0]), "--out", str(out), *extra])


def record_of(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != ".lock"}


def rows(out: Path) -> list[dict]:
    with open(out / "losses.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("flag", ["--conditional", "--unconditional", "--no-label-in-d"])
def test_variants_write_logs_and_figures(tiny_domains, tmp_path, flag):
    out = tmp_path / flag.strip("-")
    assert gan(tiny_domains, out, flag) == 0
    log = rows(out)
    assert len(log) == 2 * (600 // 50) and set(log[0]) == {"iteration", "epoch", "loss_d", "loss_g", "d_x", "d_g_z"}
    for name in (
        "samples_epoch001.png",
        "samples_epoch002.png",
        "samples_final.png",
        "losses.png",
        "summary.json",
        "last.pt",
    ):
        assert (out / name).is_file(), name
    assert (out / "zy_grid.png").exists() == (flag != "--unconditional")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["variant"] == flag.strip("-").replace("-", "_") and summary["seconds_per_epoch"] > 0
    assert summary["mismatch"] == (
        DEFAULT_MISMATCH if flag == "--conditional" else 0.0
    )  # the matching-aware term needs a D that sees y


def test_zy_grid_has_ten_rows_of_fixed_columns(tiny_domains, tmp_path):
    assert gan(tiny_domains, tmp_path / "a", "--grid-columns", "5") == 0
    im = Image.open(tmp_path / "a" / "zy_grid.png")
    assert im.width * 10 == pytest.approx(im.height * 5, rel=0.05)  # 5 columns, 10 rows of square tiles
    assert gan(tiny_domains, tmp_path / "b", "--grid-columns", "5", "--seed", "3") == 0
    import torch

    assert torch.equal(torch.load(tmp_path / "a" / "zy_grid_z.pt"), torch.load(tmp_path / "b" / "zy_grid_z.pt"))


def test_resume_gives_identical_losses(tiny_domains, tmp_path):
    assert gan(tiny_domains, tmp_path / "whole", "--epochs", "3") == 0
    assert gan(tiny_domains, tmp_path / "split", "--epochs", "1") == 0
    assert gan(tiny_domains, tmp_path / "split", "--epochs", "3", "--resume") == 0
    assert rows(tmp_path / "whole") == rows(tmp_path / "split")


def test_resume_refuses_another_lr_or_variant(tiny_domains, tmp_path):
    """A new lr used to be written to config.yaml but not applied; another variant crashed on shapes."""
    assert gan(tiny_domains, tmp_path / "r", "--epochs", "1") == 0
    before = (tmp_path / "r" / "config.yaml").read_text()
    base = [
        "gan",
        "--dataset",
        str(tiny_domains[0]),
        "--out",
        str(tmp_path / "r"),
        "--epochs",
        "2",
        "--batch-size",
        "50",
        "--g-width",
        "8",
        "--d-width",
        "4",
        "--eval-samples",
        "0",
        "--quiet",
        "--resume",
    ]
    assert_one_line_error(run_here(*base, "--lr", "0.01"), "--lr 0.0002 -> 0.01")
    assert_one_line_error(run_here(*base, "--unconditional"), "--variant 'conditional' -> 'unconditional'")
    assert (tmp_path / "r" / "config.yaml").read_text() == before


def test_mismatch_adds_the_wrong_label_term_to_d_only(tiny_domains, tmp_path):
    assert gan(tiny_domains, tmp_path / "plain", "--epochs", "1", "--mismatch", "0") == 0
    assert gan(tiny_domains, tmp_path / "aware", "--epochs", "1", "--mismatch", "1") == 0
    plain, aware = rows(tmp_path / "plain")[0], rows(tmp_path / "aware")[0]
    assert plain["d_x"] == aware["d_x"] and plain["d_g_z"] == aware["d_g_z"]  # same models, same z, same batch
    assert float(aware["loss_d"]) > float(plain["loss_d"]) + 0.5  # + BCE(D(x, wrong y), fake), about log 2 at the start


def test_compare_draws_both_figures(tiny_domains, tmp_path):
    assert gan(tiny_domains, tmp_path / "c", "--conditional") == 0
    assert gan(tiny_domains, tmp_path / "u", "--unconditional") == 0
    assert main(["gan", "compare", str(tmp_path / "c"), str(tmp_path / "u"), "--out", str(tmp_path / "cmp.png")]) == 0
    assert (tmp_path / "cmp-losses.png").is_file() and (tmp_path / "cmp-samples.png").is_file()


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--epochs", "0"], "epochs must be > 0"),
        (["--lr", "-0.1"], "learning rate must be > 0"),
        (["--batch-size", "0"], "batch size must be > 0"),
        (["--dataset", "nowhere.npz"], "file not found"),
        (["--conditional", "--unconditional"], "not allowed with argument"),
        (["--no-label-in-d", "--mismatch", "0.5"], "needs a D that sees y"),
        (["--mismatch", "-1"], "mismatch weight must be >= 0"),
        (["--eval-samples", "1"], "eval samples must be 0 (no metrics) or at least 200"),
        (["--loss", "wgan_gp"], "batch norm in D mixes across the batch: add --no-d-batch-norm"),
        (["--gp-weight", "1"], "--gp-weight is an option of a game with a gradient penalty (wgan_gp), not of ns"),
        (["--variant", "wgan_gp", "--gp-weight", "-1"], "gp weight must be >= 0"),
        (["--n-critic", "0"], "n critic must be > 0"),
        (["--beta1", "1"], "Adam betas must be in [0, 1)"),
        (["--variant", "wgan_gp", "--n-critic", "20", "--batch-size", "50"], "an iteration takes 20 batches of 50"),
    ],
)
@pytest.mark.unit  # in this process: quick, and what a real process would add is tested elsewhere
def test_bad_input_is_a_one_line_error(tiny_domains, tmp_path, extra, fragment):
    args = ["gan", "--dataset", str(tiny_domains[0]), "--out", str(tmp_path / "r"), "--quiet", *extra]
    assert_one_line_error(run_here(*args), fragment)


def test_wgan_gp_plays_five_critic_steps_per_g_step_with_the_papers_adam(tiny_domains, tmp_path):
    out = tmp_path / "w"
    assert gan(tiny_domains, out, "--variant", "wgan_gp") == 0
    log = rows(out)
    assert len(log) == 2 * (600 // (50 * 5))  # an iteration takes five batches
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["n_critic"], summary["scores"], summary["gp_weight"], summary["d_batch_norm"]) == (
        5,
        "critic",
        10.0,
        False,
    )
    assert summary["images_per_epoch"] == (600 // 250) * 250
    config = (out / "config.yaml").read_text()
    for line in ("lr: 0.0001", "beta1: 0.0", "beta2: 0.9", "n_critic: 5", "gp_weight: 10.0"):
        assert line in config.splitlines(), line  # the record says the numbers the game chose


def test_more_d_steps_per_g_step_in_any_game(tiny_domains, tmp_path):
    assert gan(tiny_domains, tmp_path / "n2", "--unconditional", "--n-critic", "2", "--epochs", "1") == 0
    assert len(rows(tmp_path / "n2")) == 600 // (50 * 2)
    assert "lr: 0.0002" in (tmp_path / "n2" / "config.yaml").read_text().splitlines()


def test_wgan_gp_resumes_to_identical_losses(tiny_domains, tmp_path):
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert gan(tiny_domains, whole, "--variant", "wgan_gp", "--batch-size", "20") == 0
    assert gan(tiny_domains, split, "--variant", "wgan_gp", "--batch-size", "20", "--epochs", "1") == 0
    assert gan(tiny_domains, split, "--variant", "wgan_gp", "--batch-size", "20", "--resume") == 0
    assert rows(whole) == rows(split) and len(rows(whole)) == 2 * (600 // 100)


def test_compare_rejects_non_run(tmp_path):
    result = run_here("gan", "compare", str(tmp_path))
    assert result.returncode == 2 and "not a finished advlab gan run" in result.stderr


def test_gan_eval_on_an_adapt_run_says_what_it_is(tiny_domains, tmp_path):
    source, target = tiny_domains
    assert (
        main(
            [
                "adapt",
                "--source",
                str(source),
                "--target",
                str(target),
                "--out",
                str(tmp_path / "a"),
                "--epochs",
                "1",
                "--val-size",
                "50",
                "--batch-size",
                "32",
                "--quiet",
            ]
        )
        == 0
    )
    assert_one_line_error(run_here("gan", "eval", str(tmp_path / "a")), "is an advlab adapt run, not an advlab gan run")


def test_a_gan_of_other_data_is_scored_by_that_datas_evaluator_and_never_by_another(
    tiny_domains, tmp_path, monkeypatch
):
    """A conditional GAN of 3-channel images: its metrics come from an evaluator trained on its
    own data (cond_acc 0.145 and FID 689 came from the MNIST LeNet before; `gan eval` crashed).
    Once the data file holds other images, `gan eval` refuses in one line."""
    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "colour.npz"
    data.write_bytes(Path(tiny_domains[1]).read_bytes())
    out = tmp_path / "rgb"
    assert (
        main(
            [
                "gan",
                "--dataset",
                str(data),
                "--out",
                str(out),
                "--epochs",
                "1",
                "--batch-size",
                "100",
                "--g-width",
                "8",
                "--d-width",
                "4",
                "--eval-samples",
                "200",
                "--threads",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert "no_metrics" not in summary and 0 <= summary["cond_acc"] <= 1 and summary["fid_lenet"] > 0
    records = [json.loads(p.read_text()) for p in (tmp_path / "cache" / "evaluator").glob("*.json")]
    assert [(r["dataset"], r["channels"], r["num_classes"]) for r in records] == [(str(data), 3, 10)]
    assert (
        summary["evaluator_test_acc"] == records[0]["test_acc"]
        and summary["data_fingerprint"] == records[0]["fingerprint"]
    )
    assert main(["gan", "eval", str(out), "--samples", "200", "--device", "cpu"]) == 0
    again = json.loads((out / "summary.json").read_text())
    assert {k: again[k] for k in ("cond_acc", "fid_lenet", "fid_floor", "coverage")} == {
        k: summary[k] for k in ("cond_acc", "fid_lenet", "fid_floor", "coverage")
    }  # the same samples, the same evaluator

    from conftest import write_domain_npz

    write_domain_npz(data, 600, 200, colour=True, seed=99)  # the same path now holds other colour images
    assert_one_line_error(run_here("gan", "eval", str(out), "--samples", "200"), "the GAN learned other data than")


def test_a_registered_variant_and_an_option_on_top_are_recorded(tiny_domains, tmp_path):
    assert gan(tiny_domains, tmp_path / "p", "--epochs", "1", "--variant", "projection", "--pack", "2") == 0
    summary = json.loads((tmp_path / "p" / "summary.json").read_text())
    assert (
        summary["variant"],
        summary["loss"],
        summary["d_conditioning"],
        summary["pack"],
        summary["spectral_norm"],
    ) == ("projection", "hinge", "projection", 2, True)
    assert (tmp_path / "p" / "zy_grid.png").exists()
    assert_one_line_error(
        run_here("gan", "--variant", "unconditional", "--d-conditioning", "channels", "--out", str(tmp_path / "x")),
        "needs a G that sees y",
    )


def test_bf16_gan_trains_and_is_recorded(tiny_domains, tmp_path):
    assert gan(tiny_domains, tmp_path / "b", "--epochs", "1", "--precision", "bf16") == 0
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert (summary["precision"], summary["device"]) == ("bf16", "cpu")


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="no CUDA device on this machine")
def test_gan_trains_on_cuda(tiny_domains, tmp_path):
    assert gan(tiny_domains, tmp_path / "c", "--epochs", "1", "--device", "cuda", "--variant", "projection") == 0
    assert json.loads((tmp_path / "c" / "summary.json").read_text())["device"].startswith("cuda")


@pytest.mark.parametrize("command", [["classifier", "--dataset", "x.npz"], ["gan", "eval", "no-such-run"]])
def test_classifier_and_gan_eval_refuse_a_bad_device_in_one_line(command, capsys):
    assert main([*command, "--device", "tpu"]) == 2
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and "device must be cpu, cuda or auto, got 'tpu'" in said[0]


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="no CUDA device on this machine")
def test_the_evaluator_and_gan_eval_run_on_cuda(tiny_domains, tmp_path, monkeypatch):
    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path / "cache"))
    assert main(["classifier", "--dataset", str(tiny_domains[1]), "--device", "cuda", "--quiet"]) == 0
    record = json.loads(next((tmp_path / "cache" / "evaluator").glob("*.json")).read_text())
    assert record["trained_on"] == "cuda" and record["test_acc"] > 0.5
    out = tmp_path / "g"
    assert (
        main(
            [
                "gan",
                "--dataset",
                str(tiny_domains[1]),
                "--out",
                str(out),
                "--epochs",
                "1",
                "--batch-size",
                "100",
                "--g-width",
                "8",
                "--d-width",
                "4",
                "--eval-samples",
                "200",
                "--device",
                "cuda",
                "--quiet",
            ]
        )
        == 0
    )
    on_cuda = json.loads((out / "summary.json").read_text())
    assert main(["gan", "eval", str(out), "--samples", "200", "--device", "cpu"]) == 0
    on_cpu = json.loads((out / "summary.json").read_text())
    assert abs(on_cuda["cond_acc"] - on_cpu["cond_acc"]) <= 0.02 and on_cuda["fid_lenet"] == pytest.approx(
        on_cpu["fid_lenet"], rel=0.05
    )


def test_resume_refuses_a_checkpoint_of_another_run_or_variant(tiny_domains, tmp_path, capsys):
    """A same-variant last.pt of other data was continued; another variant's gave a size-mismatch traceback."""
    import shutil

    import torch

    from conftest import write_domain_npz

    assert gan(tiny_domains, tmp_path / "r", "--epochs", "1") == 0
    other = write_domain_npz(tmp_path / "other.npz", 600, 200, colour=False, seed=5)  # grey digits too
    assert main([*GAN_QUICK, "--dataset", str(other), "--out", str(tmp_path / "other"), "--epochs", "1"]) == 0
    assert gan(tiny_domains, tmp_path / "u", "--epochs", "1", "--unconditional") == 0
    for donor, said in (("other", "--dataset"), ("u", "--variant 'unconditional' -> 'conditional'")):
        shutil.copy(tmp_path / donor / "last.pt", tmp_path / "r" / "last.pt")
        before = record_of(tmp_path / "r")
        capsys.readouterr()
        assert gan(tiny_domains, tmp_path / "r", "--resume") == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and f"last.pt in {tmp_path / 'r'} was made by another run" in lines[0], lines
        assert said in lines[0]
        assert record_of(tmp_path / "r") == before
    # a checkpoint from before identities: another variant's networks do not fit, said in one line
    state = torch.load(tmp_path / "u" / "last.pt", weights_only=True)
    del state["identity"]
    torch.save(state, tmp_path / "r" / "last.pt")
    assert gan(tiny_domains, tmp_path / "r", "--resume") == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "does not fit this run's networks" in lines[0], lines


def test_resume_with_only_out_takes_the_runs_own_options(tiny_domains, tmp_path, capsys):
    """`advlab gan --out RUN --resume` failed for a run made with any non-default option."""
    assert gan(tiny_domains, tmp_path / "whole", "--epochs", "3", "--lr", "0.001") == 0
    assert gan(tiny_domains, tmp_path / "split", "--epochs", "1", "--lr", "0.001") == 0
    assert main(["gan", "--out", str(tmp_path / "split"), "--resume", "--epochs", "3", "--quiet"]) == 0
    assert rows(tmp_path / "whole") == rows(tmp_path / "split")
    capsys.readouterr()
    assert main(["gan", "--out", str(tmp_path / "split"), "--resume", "--epochs", "4", "--z-dim", "10"]) == 2
    line = capsys.readouterr().err.strip()
    assert "--z-dim 100 -> 10" in line and "--lr" not in line and "--dataset" not in line
