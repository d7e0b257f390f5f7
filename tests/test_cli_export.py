"""`advlab export` of a finished tiny run: ONNX run by onnxruntime and TorchScript loaded in a
process without advlab both give advlab's logits on the run's own test images; bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from advlab.cli import main
from advlab.data.domains import load_domain
from advlab.train.restore import load_run_model
from tests_helpers import assert_one_line_error, run_here


@pytest.fixture(scope="module")
def run(tiny_domains, tmp_path_factory):
    source, target = tiny_domains
    out = tmp_path_factory.mktemp("export") / "run"
    args = ["adapt", "--source", str(source), "--target", str(target), "--epochs", "1", "--batch-size", "32"]
    assert main([*args, "--val-size", "50", "--threads", "1", "--quiet", "--ema-decay", "0.9", "--out", str(out)]) == 0
    return out


def logits_of_the_run(run, tiny_domains) -> tuple[torch.Tensor, torch.Tensor]:
    model, _ = load_run_model(run)  # the evaluated weights: here the weight average
    images = load_domain(str(tiny_domains[1])).test.x
    with torch.no_grad():
        return images, model(images)


def test_onnx_runs_in_onnxruntime_as_advlab_does(run, tiny_domains, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    out = tmp_path / "model.onnx"
    assert main(["export", str(run), "--format", "onnx", "--out", str(out)]) == 0
    images, expected = logits_of_the_run(run, tiny_domains)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"images": images.numpy()})[0]  # 200 images: the batch size is free
    assert np.abs(got - expected.numpy()).max() < 1e-5
    assert not list(tmp_path.glob(".*partial"))


def test_torchscript_runs_in_a_process_without_advlab(run, tiny_domains, tmp_path):
    out = tmp_path / "model.pt"
    assert main(["export", str(run), "--format", "torchscript", "--out", str(out)]) == 0
    images, expected = logits_of_the_run(run, tiny_domains)
    torch.save(images, tmp_path / "images.pt")
    script = (
        "import sys, torch\n"
        f"m = torch.jit.load({str(out)!r})\n"
        f"torch.save(m(torch.load({str(tmp_path / 'images.pt')!r})).detach(), {str(tmp_path / 'logits.pt')!r})\n"
        "assert not any(name.startswith('advlab') for name in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)
    assert (torch.load(tmp_path / "logits.pt") - expected).abs().max() < 1e-5


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--format", "tflite", "--out", "m.tflite"], "--format must be one of onnx, torchscript"),
        (["--format", "onnx", "--out", "m.pt"], "--out of --format onnx must end in .onnx"),
        (["--format", "torchscript", "--out", "nowhere/m.pt"], "no folder nowhere"),
    ],
)
def test_bad_input_is_a_one_line_error(run, extra, fragment):
    assert_one_line_error(run_here("export", str(run), *extra), fragment)


def test_an_existing_file_is_never_replaced(run, tmp_path):
    mine = tmp_path / "model.pt"
    mine.write_bytes(b"mine")
    assert_one_line_error(run_here("export", str(run), "--format", "torchscript", "--out", str(mine)), "exists")
    assert mine.read_bytes() == b"mine"
