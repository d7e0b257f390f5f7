"""A study's runs fork from the preloaded server (advlab.report.preloaded): each must still be
what a fresh `python -m advlab.cli` process is to the study: the study's folder, its own
exit status and stderr, its command visible to ps, a signal of its own."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

from advlab.report import preloaded


def test_a_forked_run_has_the_studys_folder_exit_status_and_stderr(tiny_domains, tmp_path, monkeypatch):
    source, target = tiny_domains
    shutil.copy(source, tmp_path / "s.npz")
    shutil.copy(target, tmp_path / "t.npz")
    monkeypatch.chdir(tmp_path)  # relative paths are the study's
    args = ["adapt", "--source", "s.npz", "--target", "t.npz", "--epochs", "1", "--batch-size", "32", "--quiet"]
    run = preloaded.start([*args, "--val-size", "50", "--out", "run"], tmp_path / "log", tmp_path / "err")
    assert run.wait() == 0, (tmp_path / "err").read_text()
    assert (tmp_path / "run" / "summary.json").is_file() and "done: target accuracy" in (tmp_path / "log").read_text()

    bad = preloaded.start(["adapt", "--epochs", "0", "--out", "bad"], tmp_path / "log", tmp_path / "err")
    assert bad.wait() == 2
    assert (tmp_path / "err").read_text().strip().splitlines() == ["advlab: error: epochs must be > 0, got 0"]


def test_a_forked_run_shows_its_command_and_takes_a_signal_alone(tiny_domains, tmp_path):
    source, target = tiny_domains
    out = tmp_path / "long"
    argv = ["adapt", "--source", str(source), "--target", str(target), "--epochs", "50", "--out", str(out), "--quiet"]
    run = preloaded.start([*argv, "--batch-size", "16", "--val-size", "50"], tmp_path / "log", tmp_path / "err")
    deadline = time.monotonic() + 60
    while not (out / "last.pt").exists() and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    shown = Path(f"/proc/{run.pid}/cmdline").read_bytes().decode(errors="replace")
    assert f"-m advlab.cli adapt --source {source}" in shown and str(out) in shown
    run.send_signal(signal.SIGTERM)
    assert run.wait() == 143  # advlab's own exit on SIGTERM, after its checkpoint
    assert "terminated; resume with --resume" in (tmp_path / "err").read_text()
