"""The trainer calls a method's hooks: views before the batch is split, after_step after each
update, eval_model for what is evaluated and kept; and --ema-decay evaluates the average."""

from __future__ import annotations

import json

import pytest
import torch

from advlab.cli import main
from advlab.methods import METHODS
from advlab.methods.supervised import SourceOnly
from advlab.runs.sampling import VIEWS_STREAM, step_seed
from advlab.train.restore import load_run_model


class Recorder(SourceOnly):
    """source_only that records what the trainer hands its hooks, and sees inverted source images."""

    name = "recorder"
    about = "test method"
    seen: list = []

    def views(self, batch, generator):
        Recorder.seen.append(("views", float(torch.rand(1, generator=generator))))
        batch.xs = 255 - batch.xs
        return batch

    def after_step(self, step):
        super().after_step(step)
        Recorder.seen.append(("after_step", step))


@pytest.fixture
def recorder(monkeypatch):
    monkeypatch.setitem(METHODS, "recorder", Recorder)
    Recorder.seen = []
    return Recorder


def adapt(tiny_domains, out, *extra) -> int:
    source, target = tiny_domains
    args = ["adapt", "--source", str(source), "--target", str(target), "--out", str(out), "--epochs", "1"]
    return main([*args, "--batch-size", "50", "--val-size", "50", "--threads", "1", "--quiet", *extra])


def test_views_get_a_generator_seeded_by_seed_and_step_and_after_step_follows_each_update(
    tiny_domains, tmp_path, recorder
):
    assert adapt(tiny_domains, tmp_path / "r", "--method", "recorder", "--seed", "3", "--augment", "none") == 0
    steps = 550 // 50
    expected = []
    for step in range(steps):
        drawn = float(torch.rand(1, generator=torch.Generator().manual_seed(step_seed(3, step, VIEWS_STREAM))))
        expected += [("views", drawn), ("after_step", step)]
    assert recorder.seen == expected


def test_ema_decay_evaluates_and_keeps_the_average(tiny_domains, tmp_path):
    out = tmp_path / "ema"
    assert adapt(tiny_domains, out, "--method", "source_only", "--ema-decay", "0.9") == 0
    state = torch.load(out / "last.pt", weights_only=True)
    assert set(state["average"]) == set(state["model"]) and "eval_model" in state
    assert any(not torch.equal(state["eval_model"][k], state["model"][k]) for k in state["model"])
    model, _ = load_run_model(out)
    assert all(torch.equal(v, state["eval_model"][k]) for k, v in model.state_dict().items())
    assert json.loads((out / "summary.json").read_text())["evaluated"] == "weight average"
    plain = tmp_path / "plain"
    assert adapt(tiny_domains, plain, "--method", "source_only") == 0
    assert "eval_model" not in torch.load(plain / "last.pt", weights_only=True)
    assert json.loads((plain / "summary.json").read_text())["evaluated"] == "trained weights"


@pytest.mark.parametrize("value", ["1", "-0.1"])
def test_ema_decay_out_of_range_is_one_line(tiny_domains, tmp_path, value, capsys):
    assert adapt(tiny_domains, tmp_path / "bad", "--ema-decay", value) == 2
    assert "ema decay must be in [0, 1)" in capsys.readouterr().err
