"""`advlab adapt` end to end on tiny synthetic domains: run directory, resume, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from advlab.cli import main
from advlab.methods import METHODS
from advlab.report import preloaded
from advlab.runs.checkpoint import load_checkpoint
from advlab.train.restore import load_run_model
from tests_helpers import assert_one_line_error, run_cli, run_here

QUICK = ["--epochs", "2", "--batch-size", "32", "--val-size", "50", "--threads", "1", "--quiet"]


def adapt(tiny_domains, out: Path, *extra: str) -> int:
    source, target = tiny_domains
    return main(["adapt", "--source", str(source), "--target", str(target), "--out", str(out), *QUICK, *extra])


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def without_timing(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if "seconds" not in k and "per_second" not in k} for r in records]


# the methods that start from a finished run (--init: pseudo_label, dirtt, shot) are tested below
ALL_METHODS = [m for m, c in METHODS.items() if not c.needs_init]
HAS_DOMAIN_HEAD = ("dann", "dann_no_grl", "cdan", "cdan_e", "adda", "vada")


@pytest.mark.parametrize("method", ALL_METHODS)
def test_every_method_writes_a_complete_run_directory(tiny_domains, tmp_path, method, capsys):
    out = tmp_path / method
    assert adapt(tiny_domains, out, "--method", method) == 0
    assert {"config.yaml", "metrics.jsonl", "summary.json", "last.pt"} <= {p.name for p in out.iterdir()}
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "method",
        "source",
        "target",
        "seed",
        "epochs",
        "source_acc",
        "target_acc",
        "domain_acc",
        "seconds",
        "train_images_per_second",
    ):
        assert key in summary
    assert summary["method"] == method and summary["epochs"] == 2
    assert (summary["domain_acc"] is None) == (method not in HAS_DOMAIN_HEAD)
    assert len(metrics(out)) == 2
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2  # one summary line per epoch


def test_learns_on_synthetic_data(tiny_domains, tmp_path):
    assert adapt(tiny_domains, tmp_path / "r", "--method", "source_only", "--epochs", "6", "--lr", "0.05") == 0
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["source_acc"] > 0.9


def test_each_epoch_says_what_its_evaluation_cost(tiny_domains, tmp_path, capsys):
    assert adapt(tiny_domains, tmp_path / "r", "--method", "dann") == 0
    for record in metrics(tmp_path / "r"):  # test sets, validators and the degeneracy check
        assert record["evaluation_seconds"] >= record["validation_seconds"] > 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["evaluation_seconds"] == pytest.approx(sum(r["evaluation_seconds"] for r in metrics(tmp_path / "r")))
    assert all(" + eval " in line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch"))


def test_same_seed_gives_identical_metrics(tiny_domains, tmp_path):
    assert adapt(tiny_domains, tmp_path / "a") == 0
    assert adapt(tiny_domains, tmp_path / "b") == 0
    assert without_timing(metrics(tmp_path / "a")) == without_timing(metrics(tmp_path / "b"))
    assert adapt(tiny_domains, tmp_path / "c", "--seed", "1") == 0
    assert without_timing(metrics(tmp_path / "a")) != without_timing(metrics(tmp_path / "c"))


def test_config_file_and_overrides(tiny_domains, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("method: source_only\nlr: 0.05\nepochs: 3\n")
    assert adapt(tiny_domains, tmp_path / "r", "--config", str(cfg), "--lr", "0.02") == 0
    written = (tmp_path / "r" / "config.yaml").read_text()
    assert "method: source_only" in written and "lr: 0.02" in written and "epochs: 2" in written


def test_checkpoint_loads_with_weights_only(tiny_domains, tmp_path):
    assert adapt(tiny_domains, tmp_path / "r") == 0
    state = torch.load(tmp_path / "r" / "last.pt", weights_only=True)
    assert state["epoch"] == 2 and "model" in state and "model" in state["optimizers"]
    assert state["model_args"] == {"num_classes": 10, "normalization": "per_image"} and state["method"] == "dann"
    assert state["heads"]["discriminator.0.weight"].shape == (100, 768)


def test_a_32_pixel_backbone_gets_padded_images_and_its_run_rebuilds_it(tiny_domains, tmp_path):
    out = tmp_path / "r"
    args = ("--backbone", "dirtt_small", "--geometry", "pad", "--epochs", "1", "--train-subset", "160")
    assert adapt(tiny_domains, out, *args) == 0  # 160 images: the big network costs seconds a step
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["backbone"] == "dirtt_small" and state["model_args"]["dirtt_small_noise"] == 1.0
    assert "backbone: dirtt_small" in (out / "config.yaml").read_text()
    assert "dirtt_small_noise: 1.0" in (out / "config.yaml").read_text()
    model, cfg = load_run_model(out)
    assert type(model).__name__ == "DirttSmall" and cfg.geometry == "pad"
    # --init takes only the same network
    assert adapt(tiny_domains, tmp_path / "pl", "--method", "pseudo_label", "--init", str(out), "--epochs", "1") == 2


def test_select_by_source_validation(tiny_domains, tmp_path):
    assert adapt(tiny_domains, tmp_path / "r", "--select", "source_val", "--epochs", "3") == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    best = max(metrics(tmp_path / "r"), key=lambda r: r["source_val_acc"])
    assert summary["selected_epoch"] == best["epoch"] and (tmp_path / "r" / "best.pt").exists()


@pytest.mark.parametrize(
    "method, extra",
    [(m, ()) for m in ALL_METHODS]
    + [("dann", ("--backbone", "ganin_bn")), ("mcd", ("--backbone", "lenet")), ("dann", ("--ema-decay", "0.99"))],
)
def test_killed_run_resumes_to_identical_metrics(tiny_domains, tmp_path, method, extra):
    """A real process is killed with SIGKILL mid-training, then resumed (adda across its two stages;
    backbones with dropout, noise and batch norm redraw the same randomness after the resume; the
    weight average goes on from where it was)."""
    source, target = tiny_domains
    args = [
        "adapt",
        "--source",
        str(source),
        "--target",
        str(target),
        "--epochs",
        "3",
        "--batch-size",
        "16",
        "--val-size",
        "50",
        "--threads",
        "1",
        "--quiet",
        "--method",
        method,
        *extra,
    ]
    assert_killed_run_resumes_identically(args, tmp_path)


def assert_killed_run_resumes_identically(args: list[str], tmp_path: Path) -> None:
    """A whole run of `args`' 3 epochs, and the same run killed (SIGKILL) once its first
    epoch's checkpoint is in place, before the last, and resumed: the same metrics, timings aside."""
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0

    out = tmp_path / "killed"
    # its own process, forked from the preloaded server a study's runs come from (no seconds of imports)
    proc = preloaded.start([*args, "--out", str(out)], Path(os.devnull), tmp_path / "killed.stderr")
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (out / "metrics.jsonl").exists() and len(metrics(out)) >= 1:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    done = load_checkpoint(out / "last.pt")["epoch"]
    assert 1 <= done < 3
    assert main([*args, "--out", str(out), "--resume"]) == 0
    assert without_timing(metrics(out)) == without_timing(metrics(tmp_path / "whole"))


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--method", "magic"], "unknown method 'magic'"),
        (["--backbone", "resnet"], "unknown backbone 'resnet'; choose from ganin, ganin_bn"),
        (["--ganin-bn-dropout", "0.2"], "--ganin-bn-dropout (ganin_bn) is an option of another backbone"),
        (["--geometry", "stretch"], "geometry must be one of crop, resize, pad"),
        (["--backbone", "ganin_bn", "--ganin-bn-dropout", "2"], "ganin bn dropout must be in [0, 1), got 2.0"),
        (["--backbone", "dirtt_small", "--dirtt-small-noise", "-1"], "dirtt small noise must be >= 0 and finite"),
        (["--lr", "0"], "learning rate must be > 0"),
        (["--lr", "-1"], "learning rate must be > 0"),
        (["--epochs", "0"], "epochs must be > 0"),
        (["--gamma", "-1"], "gamma must be >= 0"),
        (["--batch-size", "0"], "batch size must be > 0"),
        (["--batch-size", "560", "--val-size", "50"], "source.npz's training set less the 50 held out by --val-size)"),
        (
            ["--batch-size", "400", "--train-subset", "300", "--val-size", "100"],
            "larger than the 300 training images an epoch walks through",
        ),
        (["--method", "target_only", "--batch-size", "700", "--val-size", "100"], "target.npz's training set)"),
        (["--epochs", "two"], "invalid int value"),
        (["--source", "svhn"], "unknown data set 'svhn'"),
        (["--source", "/nonexistent/folder"], "unknown data set"),
        (["--select", "oracle"], "select must be one of last, source_val, entropy"),
        (["--select", "dev", "--val-size", "0"], "select dev needs a source validation split"),
        (["--select", "snd", "--validation-size", "0"], "select snd needs validation size > 0"),
        (
            ["--select", "class_ami", "--validation-size", "10", "--val-size", "50"],
            "select class_ami needs more than 10 validation images",
        ),
        (["--method", "mcd", "--mcd-num-k", "0"], "mcd num k must be >= 1"),
        (["--method", "mcc", "--mcc-temperature", "0"], "mcc temperature must be > 0"),
        (["--method", "mdd", "--mdd-margin", "-1"], "mdd margin must be > 0"),
        (["--method", "mdd", "--mdd-reversal", "nan"], "mdd reversal must be >= 0"),
        (["--method", "coral", "--coral-layer", "conv1"], "coral layer must be one of"),
        (
            ["--method", "adda", "--adda-source-epochs", "2", "--epochs", "2"],
            "adda source epochs must be in [0, epochs)",
        ),
        (["--method", "adda", "--adda-source-epochs", "0"], "needs --init"),
        (["--method", "adda", "--adda-lr", "0"], "adda lr must be > 0"),
        (["--method", "cdan", "--trade-off", "-1"], "trade off must be >= 0"),
    ],
)
@pytest.mark.unit  # in this process: quick, and what a real process would add is tested elsewhere
def test_bad_values_are_one_line_errors(tiny_domains, tmp_path, extra, fragment):
    source, target = tiny_domains
    result = run_here(
        "adapt", "--source", str(source), "--target", str(target), "--out", str(tmp_path / "r"), "--quiet", *extra
    )
    assert_one_line_error(result, fragment)


def test_unknown_config_key(tiny_domains, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("epochs: 1\nlearning_rate: 0.1\n")
    assert_one_line_error(run_here("adapt", "--config", str(cfg)), "unknown config key 'learning_rate'")


def test_missing_config_file(tmp_path):
    assert_one_line_error(run_here("adapt", "--config", str(tmp_path / "none.yaml")), "config file not found")


def test_corrupt_data_file(tiny_domains, tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(Path(tiny_domains[0]).read_bytes()[:500])
    result = run_cli("adapt", "--source", str(bad), "--target", str(tiny_domains[1]), "--out", str(tmp_path / "r"))
    assert_one_line_error(result, "corrupt")


def test_missing_builtin_data_without_network(tmp_path):
    env_dir = tmp_path / "empty"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "advlab.cli",
            "adapt",
            "--data-dir",
            str(env_dir),
            "--out",
            str(tmp_path / "r"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ADVLAB_MIRROR": "http://127.0.0.1:9"},
    )
    assert result.returncode == 2 and "could not download" in result.stderr and "Traceback" not in result.stderr


def test_output_folder_that_cannot_be_written(tiny_domains, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    source, target = tiny_domains
    assert_one_line_error(
        run_here("adapt", "--source", str(source), "--target", str(target), "--out", str(blocker / "run")),
        "cannot write to output folder",
    )


def test_existing_run_is_not_overwritten(tiny_domains, tmp_path):
    assert adapt(tiny_domains, tmp_path / "r") == 0
    before = (tmp_path / "r" / "metrics.jsonl").read_text()
    source, target = tiny_domains
    assert_one_line_error(
        run_here("adapt", "--source", str(source), "--target", str(target), "--out", str(tmp_path / "r")),
        "already holds a run",
    )
    assert (tmp_path / "r" / "metrics.jsonl").read_text() == before


def test_corrupt_checkpoint_on_resume(tiny_domains, tmp_path):
    assert adapt(tiny_domains, tmp_path / "r") == 0
    (tmp_path / "r" / "last.pt").write_bytes(b"garbage")
    source, target = tiny_domains
    result = run_here(
        "adapt",
        "--source",
        str(source),
        "--target",
        str(target),
        "--out",
        str(tmp_path / "r"),
        "--resume",
        "--epochs",
        "3",
        "--val-size",
        "50",
    )
    assert_one_line_error(result, "cannot load checkpoint")


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tiny_domains, tmp_path):
    assert adapt(tiny_domains, tmp_path / "r", "--epochs", "1") == 0
    state = load_checkpoint(tmp_path / "r" / "last.pt")
    state["model"]["classifier.4.bias"][0] = float("nan")  # the next step's loss is NaN
    torch.save(state, tmp_path / "r" / "last.pt")
    good = (tmp_path / "r" / "last.pt").read_bytes()
    source, target = tiny_domains
    result = run_cli(
        "adapt",
        "--source",
        str(source),
        "--target",
        str(target),
        "--out",
        str(tmp_path / "r"),
        "--resume",
        "--epochs",
        "3",
        "--val-size",
        "50",
        "--batch-size",
        "32",
        "--quiet",
    )
    assert_one_line_error(result, "loss became nan at epoch 2, step 1")
    assert "the last good checkpoint (epoch 1) is kept" in result.stderr
    assert (tmp_path / "r" / "last.pt").read_bytes() == good
    assert load_checkpoint(tmp_path / "r" / "last.pt")["epoch"] == 1


def test_nan_in_the_first_epoch_says_no_checkpoint_exists(tiny_domains, tmp_path):
    source, target = tiny_domains
    result = run_here(
        "adapt",
        "--source",
        str(source),
        "--target",
        str(target),
        "--out",
        str(tmp_path / "r"),
        "--epochs",
        "1",
        "--lr",
        "1e30",
        "--lr-schedule",
        "constant",
        "--val-size",
        "50",
        "--batch-size",
        "32",
        "--quiet",
    )
    assert_one_line_error(result, "loss became")
    assert "no epoch had finished" in result.stderr and not (tmp_path / "r" / "last.pt").exists()


def test_resume_refuses_options_that_would_change_the_run(tiny_domains, tmp_path):
    """--resume used to take any option, rewrite config.yaml with it and go on with a mixed history."""
    assert adapt(tiny_domains, tmp_path / "r") == 0
    record = {f: (tmp_path / "r" / f).read_bytes() for f in ("config.yaml", "metrics.jsonl", "last.pt")}
    source, target = tiny_domains
    base = ["adapt", "--source", str(source), "--target", str(target), "--out", str(tmp_path / "r"), "--resume", *QUICK]
    assert_one_line_error(run_here(*base, "--lr", "0.5"), "--lr 0.01 -> 0.5")
    assert_one_line_error(
        run_here(*base, "--batch-size", "16", "--val-size", "40"), "--batch-size 32 -> 16; --val-size 50 -> 40"
    )
    assert_one_line_error(run_here(*base, "--epochs", "1"), "--epochs may only grow")
    assert {f: (tmp_path / "r" / f).read_bytes() for f in record} == record
    # what cannot change the result may differ, and --epochs may grow: the run is extended
    assert main([*base, "--threads", "2", "--epochs", "3"]) == 0
    assert [r["epoch"] for r in metrics(tmp_path / "r")] == [1, 2, 3]


def test_pseudo_label_starts_from_a_run_and_reports_each_round(tiny_domains, tmp_path):
    assert adapt(tiny_domains, tmp_path / "base", "--method", "source_only", "--epochs", "4", "--lr", "0.05") == 0
    out = tmp_path / "pl"
    assert (
        adapt(
            tiny_domains,
            out,
            "--method",
            "pseudo_label",
            "--init",
            str(tmp_path / "base"),
            "--rounds",
            "2",
            "--pl-threshold",
            "0.5",
            "--epochs",
            "2",
        )
        == 0
    )
    rounds = json.loads((out / "summary.json").read_text())["pseudo_label_rounds"]
    assert [r["pl_round"] for r in rounds] == [1, 2]
    assert 0 < rounds[0]["pl_selected_share"] <= rounds[1]["pl_selected_share"] <= 1
    assert all(0 <= r["pl_label_acc"] <= 1 for r in rounds)
    # the selection is in the checkpoint, so a resume continues the round it was in
    assert "pseudo_labels" in load_checkpoint(out / "last.pt")["method_state"]


@pytest.mark.parametrize("method", ["dirtt", "shot"])
def test_target_only_refinements_start_from_a_run_and_resume_to_the_same_record(tiny_domains, tmp_path, method):
    """DIRT-T and SHOT see no source batch: an epoch walks the target images; their teacher /
    pseudo-labels are in the checkpoint, so a run killed and resumed equals a whole one."""
    assert adapt(tiny_domains, tmp_path / "base", "--method", "source_only", "--epochs", "3", "--lr", "0.05") == 0
    start = ("--method", method, "--init", str(tmp_path / "base"))
    source, target = tiny_domains
    args = ["adapt", "--source", str(source), "--target", str(target), "--epochs", "3", "--batch-size", "16"]
    assert_killed_run_resumes_identically([*args, "--val-size", "50", "--threads", "1", "--quiet", *start], tmp_path)
    record = metrics(tmp_path / "whole")[-1]
    assert record["source_acc"] > 0.3 and "loss_cls" not in record  # evaluated on both domains, trained on one
    state = load_checkpoint(tmp_path / "whole" / "last.pt")["method_state"]
    assert ("teacher" if method == "dirtt" else "shot_labels") in state
    caveats = json.loads((tmp_path / "whole" / "summary.json").read_text())["caveats"]
    assert (caveats == []) == (method == "dirtt")  # shot on ganin: no batch norm where it adapts, said


@pytest.mark.parametrize("init_method", ["mcd", "adda", "cdan"])
def test_any_method_run_can_start_pseudo_labelling(tiny_domains, tmp_path, init_method):
    """--init rebuilds the backbone from the run's own checkpoint, whatever heads it had."""
    assert adapt(tiny_domains, tmp_path / "base", "--method", init_method, "--epochs", "2", "--lr", "0.05") == 0
    out = tmp_path / "pl"
    assert (
        adapt(
            tiny_domains,
            out,
            "--method",
            "pseudo_label",
            "--init",
            str(tmp_path / "base"),
            "--rounds",
            "1",
            "--pl-threshold",
            "0.0",
            "--epochs",
            "1",
        )
        == 0
    )
    assert json.loads((out / "summary.json").read_text())["init"] == str(tmp_path / "base")


def test_pseudo_label_errors_are_one_line(tiny_domains, tmp_path):
    source, target = tiny_domains
    base = [
        "adapt",
        "--source",
        str(source),
        "--target",
        str(target),
        "--val-size",
        "50",
        "--quiet",
        "--method",
        "pseudo_label",
    ]
    assert_one_line_error(run_here(*base, "--out", str(tmp_path / "a")), "--init")
    assert_one_line_error(
        run_here(*base, "--init", str(tmp_path / "nowhere"), "--out", str(tmp_path / "b")), "not an advlab adapt run"
    )
    assert_one_line_error(run_here(*base, "--init", str(tmp_path), "--epochs", "3", "--rounds", "2"), "must divide")


def test_resume_refuses_a_checkpoint_of_another_method_or_command(tiny_domains, tmp_path):
    assert adapt(tiny_domains, tmp_path / "r", "--method", "dann", "--epochs", "1") == 0
    source, target = tiny_domains
    base = (
        "adapt",
        "--source",
        str(source),
        "--target",
        str(target),
        "--val-size",
        "50",
        "--quiet",
        "--resume",
        "--epochs",
        "2",
    )
    assert_one_line_error(run_here(*base, "--out", str(tmp_path / "r"), "--method", "mcd"), "holds a dann run")
    torch.save({"g": {}, "epoch": 1}, tmp_path / "gan.pt")
    (tmp_path / "g").mkdir()
    (tmp_path / "gan.pt").rename(tmp_path / "g" / "last.pt")
    assert_one_line_error(run_here(*base, "--out", str(tmp_path / "g")), "not an advlab adapt checkpoint")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("method", ALL_METHODS)
def test_every_method_runs_on_cuda(tiny_domains, tmp_path, method):
    assert adapt(tiny_domains, tmp_path / method, "--method", method, "--device", "cuda") == 0
    assert json.loads((tmp_path / method / "summary.json").read_text())["device"].startswith("cuda")


def test_out_at_a_folder_of_user_files_changes_nothing(tiny_domains, tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "config.yaml").write_text("method: source_only\nepochs: 1\n")
    (folder / "summary.json").write_text('{"mine": true}\n')
    source, target = tiny_domains
    result = run_cli(
        "adapt",
        "--config",
        str(folder / "config.yaml"),
        "--source",
        str(source),
        "--target",
        str(target),
        "--out",
        str(folder),
    )
    assert_one_line_error(result, "holds files advlab did not write")
    assert (folder / "config.yaml").read_text() == "method: source_only\nepochs: 1\n" and (
        folder / "summary.json"
    ).read_text() == '{"mine": true}\n'
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml", "summary.json"]


def test_help_states_each_default_once():
    """`--threads` used to read '(default: all cores) (default: None)'."""
    result = run_here("adapt", "--help")
    text = " ".join(result.stdout.split())
    assert "(default: all cores)" in text and "(default: all cores) (default: None)" not in text
    assert "(default: half the epochs; 0 with --init)" in text


def test_pseudo_label_refuses_an_init_run_of_another_pair(tiny_domains, tmp_path):
    """Leaving out --source/--target silently self-trained a model of another pair on MNIST -> MNIST-M."""
    assert adapt(tiny_domains, tmp_path / "base", "--method", "source_only", "--epochs", "1") == 0
    source, target = tiny_domains
    result = run_here(
        "adapt",
        "--method",
        "pseudo_label",
        "--init",
        str(tmp_path / "base"),
        "--source",
        str(target),
        "--target",
        str(source),
        "--rounds",
        "1",
        "--epochs",
        "1",
        "--val-size",
        "50",
        "--out",
        str(tmp_path / "pl"),
        "--quiet",
    )
    assert_one_line_error(result, "was trained on")


def test_yaml_means_what_a_user_means(tiny_domains, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("method: source_only\nlr: 1e-3\nepochs: 1\n")  # YAML 1.1 reads 1e-3 as a string
    assert adapt(tiny_domains, tmp_path / "r", "--config", str(cfg)) == 0
    assert "lr: 0.001" in (tmp_path / "r" / "config.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text("method: dann\nlr: [0.1\nepochs: 2\n")
    result = run_here("adapt", "--config", str(bad))
    assert_one_line_error(result, f"config file {bad} line")
    assert "<unicode string>" not in result.stderr


@pytest.mark.unit  # argparse's output, in this process (four interpreter starts were 20 s)
def test_version_and_top_level_help():
    assert run_here("--version").stdout.startswith("advlab ")
    text = run_here("--help").stdout
    assert "SUPPRESS" not in text and "select" in text
    assert "usage: advlab gan compare" in run_here("gan", "compare", "--help").stdout
    assert "Train (once per data set" in run_here("classifier", "--help").stdout


def test_bf16_precision_trains_and_is_recorded(tiny_domains, tmp_path):
    assert adapt(tiny_domains, tmp_path / "b", "--precision", "bf16") == 0
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["precision"] == "bf16" and 0 <= summary["target_acc"] <= 1
    assert_one_line_error(
        run_here("adapt", "--precision", "fp8", "--out", str(tmp_path / "x")),
        "precision must be one of fp32, bf16, auto",
    )
