"""The study's plan, and the runner's skip / resume / failure bookkeeping on tiny synthetic runs."""

import signal
import threading
import time

import pytest

from advlab.report.runner import execute, run_all
from advlab.report.study import COMPARED_METHODS, PROFILES, Run, plan
from tests_helpers import processes_mentioning


@pytest.mark.parametrize("name", list(PROFILES))
def test_plan_names_are_unique_and_dependencies_exist(name):
    runs = plan(PROFILES[name])
    names = [r.name for r in runs]
    assert len(names) == len(set(names))
    for run in runs:
        assert set(run.after) <= set(names)
        if "pseudo_label" in run.command:
            assert run.after and "--init" in run.command


def test_full_profile_has_three_seeds_and_the_practicals_epochs():
    full = PROFILES["full"]
    assert full.seeds == (0, 1, 2) and full.epochs == 20 and full.gan_epochs == 5 and full.train_subset is None
    names = {r.name for r in plan(full)}
    assert {
        "dann-s2",
        "source_only-s1",
        "target_only-s0",
        "dann_no_grl-s2",
        "dann-long-s1",
        "pl-dann-s2",
        "gan-conditional-s2",
    } <= names
    assert {f"{m}-s{seed}" for m in COMPARED_METHODS for seed in (0, 1, 2)} <= names
    assert {f"sweep-lambda{v}" for v in ("0", "0.03", "0.1", "0.3", "1", "3")} | {
        "sweep-gamma2",
        "sweep-gamma10",
    } <= names


@pytest.mark.unit
def test_the_study_tunes_and_a_tune_run_is_never_given_resume(tmp_path):
    """`advlab tune` continues its study by itself and has no --resume; its status is in trials."""
    from advlab.report.runner import epoch_in_flight

    tune = next(r for r in plan(PROFILES["quick"]) if r.name == "tune")
    assert tune.command[:3] == ("tune", "--methods", "dann,cdan,dan,mdd,mcc") and "--trials" in tune.command

    class Started:
        def __init__(self):
            self.argv = []

        def start(self, argv, stdout, stderr):
            self.argv.append(argv)
            return self

        def wait(self):
            return 0

        def finished(self, process):
            pass

    (tmp_path / "runs" / "tune" / "trials" / "0-source_only").mkdir(parents=True)
    (tmp_path / "runs" / "tune" / "trials" / "1-dann").mkdir()
    started = Started()
    assert execute(tune, tmp_path, 1, None, processes=started).status == "done"
    assert "--resume" not in started.argv[0] and started.argv[0][-3:] == ["--threads", "1", "--quiet"]
    assert epoch_in_flight(tune, tmp_path) == "trial 2/12"
    assert epoch_in_flight(Run("t", ("tune", "--trials", "3")), tmp_path) == "trial 1/3"


def tiny_run(tiny_domains, name: str, *extra: str, after: tuple[str, ...] = ()) -> Run:
    source, target = tiny_domains
    return Run(
        name,
        (
            "adapt",
            "--source",
            str(source),
            "--target",
            str(target),
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--val-size",
            "50",
            *extra,
        ),
        after,
    )


def test_finished_runs_are_skipped_and_errors_are_kept(tiny_domains, tmp_path):
    good = tiny_run(tiny_domains, "good", "--method", "source_only")
    bad = tiny_run(tiny_domains, "bad", "--method", "pseudo_label", "--rounds", "1", "--init", "{runs}/missing")
    waiting = tiny_run(tiny_domains, "waiting", "--method", "source_only", after=("bad",))
    first = {o.name: o for o in run_all([good, bad, waiting], tmp_path, jobs=2, data_dir=None, quiet=True)}
    assert first["good"].status == "done" and (tmp_path / "runs" / "good" / "summary.json").exists()
    assert first["bad"].status == "failed" and "not an advlab adapt run" in first["bad"].error
    assert (tmp_path / "runs" / "bad" / "failed.txt").exists() and (tmp_path / "logs" / "bad.log").exists()
    assert first["waiting"].status == "failed" and "needs bad" in first["waiting"].error
    again = {o.name: o.status for o in run_all([good, bad], tmp_path, jobs=1, data_dir=None, quiet=True)}
    assert again == {"good": "skipped", "bad": "failed"}


def test_an_interrupted_run_is_resumed(tiny_domains, tmp_path):
    run = tiny_run(tiny_domains, "r", "--method", "source_only", "--epochs", "2")
    assert execute(run, tmp_path, 1, None, device="cpu").status == "done"  # the study's --device reaches each run
    out = tmp_path / "runs" / "r"
    (out / "summary.json").unlink()  # as if killed after its last checkpoint
    assert execute(run, tmp_path, 1, None).status == "done"
    commands = [line for line in (tmp_path / "logs" / "r.log").read_text().splitlines() if "advlab.cli" in line]
    assert len(commands) == 2 and "--resume" not in commands[0] and commands[1].endswith("--resume")
    assert "--device cpu" in commands[0] and "--device" not in commands[1]


def test_stopping_the_study_stops_its_runs_and_starts_no_more(tiny_domains, tmp_path):
    running = tiny_run(tiny_domains, "running", "--method", "source_only", "--epochs", "1000")
    queued = tiny_run(tiny_domains, "queued", "--method", "source_only")
    checkpoint = tmp_path / "runs" / "running" / "last.pt"

    def press_ctrl_c_once_it_trains() -> None:
        deadline = time.monotonic() + 120
        while not checkpoint.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    # a shell starts background jobs with SIGINT ignored, and Python keeps it so: make Ctrl-C Ctrl-C
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=press_ctrl_c_once_it_trains, daemon=True).start()
    heard = []
    try:
        with pytest.raises(KeyboardInterrupt):
            run_all([running, queued], tmp_path, jobs=1, data_dir=None, quiet=True, on_outcome=heard.append)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert [(o.name, o.status) for o in heard] == [("running", "stopped")] and heard[0].seconds > 0
    assert checkpoint.exists() and not (tmp_path / "runs" / "running" / "summary.json").exists()
    assert not (tmp_path / "runs" / "running" / "failed.txt").exists()  # a stop is not this run's failure
    assert "advlab: terminated; resume with --resume" in (tmp_path / "logs" / "running.log").read_text()
    assert not (tmp_path / "logs" / "queued.log").exists()
    assert processes_mentioning(str(tmp_path / "runs")) == []


def test_a_gan_run_stopped_in_its_first_epoch_goes_on(tiny_domains, tmp_path):
    """`advlab gan` writes losses.csv as it starts; a study stopped before the first checkpoint
    used to rerun it without --resume, which refused ("already holds a run") and failed it for good."""
    source, _ = tiny_domains
    run = Run("gan", ("gan", "--dataset", str(source), "--epochs", "1", "--batch-size", "64", "--eval-samples", "0"))
    out = tmp_path / "runs" / "gan"
    out.mkdir(parents=True)
    (out / "config.yaml").write_text("epochs: 1\n")
    (out / "losses.csv").write_text("iteration,epoch,loss_d,loss_g,d_x,d_g_z\n1,1,1.3")  # cut off mid-line
    outcome = execute(run, tmp_path, 1, None)
    assert outcome.status == "done", outcome.error
    assert (out / "summary.json").exists() and not (out / "failed.txt").exists()


def test_reproduce_exits_non_zero_and_counts_failed_runs(monkeypatch, tmp_path, capsys):
    """A study whose runs failed wrote its report and still exited 0 (18 of 19 failed on a full disk)."""
    import advlab.report.reproduce as reproduce_module
    from advlab.cli import main

    page, md = tmp_path / "report.html", tmp_path / "report.md"
    said = lambda failures, unfinished: lambda *a, **k: reproduce_module.StudyResult(md, page, failures, unfinished, 19)  # noqa: E731
    monkeypatch.setattr(reproduce_module, "reproduce", said(["a: disk full", "b: disk full"], []))
    assert main(["reproduce", "--profile", "smoke", "--out", str(tmp_path)]) == 1
    assert "2 of 19 runs failed" in capsys.readouterr().err
    monkeypatch.setattr(reproduce_module, "reproduce", said([], ["c: not started"]))
    assert main(["reproduce", "--profile", "smoke", "--out", str(tmp_path), "--report-only"]) == 1
    assert "1 of 19 runs not finished; the report is partial" in capsys.readouterr().err
    monkeypatch.setattr(reproduce_module, "reproduce", said([], []))
    assert main(["reproduce", "--profile", "smoke", "--out", str(tmp_path)]) == 0


def test_killing_the_study_process_ends_its_runs(tiny_domains, tmp_path):
    """SIGKILL of the study (no handler runs) used to leave its runs going on as orphans."""
    import subprocess
    import sys

    source, target = tiny_domains
    script = (
        "import sys; from pathlib import Path; from advlab.report.runner import run_all; from advlab.report.study "
        "import Run\n"
        f"run = Run('long', ('adapt', '--source', {str(source)!r}, '--target', {str(target)!r}, '--epochs', '1000', "
        "'--batch-size', '32', '--val-size', '50'))\n"
        f"run_all([run], Path({str(tmp_path)!r}), jobs=1, data_dir=None, quiet=True)\n"
    )
    study = subprocess.Popen([sys.executable, "-c", script])
    checkpoint = tmp_path / "runs" / "long" / "last.pt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert checkpoint.exists() and processes_mentioning(str(tmp_path / "runs"))
    study.kill()
    study.wait()
    deadline = time.monotonic() + 30
    while processes_mentioning(str(tmp_path / "runs")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_mentioning(str(tmp_path / "runs")) == []
