"""`advlab reproduce --launcher slurm` against a real one-node Slurm (started here): the smoke
study's report equals the local launcher's in every number; a queued run is never submitted
twice; scancel loses at most the epoch in flight; a requeued job resumes its run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from advlab.runs.checkpoint import load_checkpoint
from tests_helpers import run_cli

pytestmark = pytest.mark.slow
ON_SLURM = ("dann-s0", "pl-dann-s0", "mdd-s0", "gan-conditional-s0")  # of the smoke study: the rest is reused


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    from slurm_cluster import start

    cluster = start(tmp_path_factory.mktemp("slurm"))
    if isinstance(cluster, str):
        pytest.skip(cluster)
    yield cluster
    cluster.stop()


def numbers(results: dict, root: Path) -> dict:
    """A report's results without what may differ between two launchers: times, dates,
    command lines, machine, and the study's own folder in paths."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if "seconds" not in k}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value.replace(str(root), "STUDY") if isinstance(value, str) else value

    return strip(
        {
            k: v
            for k, v in results.items()
            if k not in ("command", "date", "machine", "software", "revision", "launcher", "timing")
        }
    )


def test_the_study_on_slurm_reports_the_local_launchers_numbers(slurm, tmp_path_factory, tmp_path):
    from advlab.report.runner import default_threads
    from conftest import REAL_DATA
    from smoke_study import have_real_data, smoke_study

    if not have_real_data():
        pytest.skip(f"real MNIST / MNIST-M not found under {REAL_DATA} (set ADVLAB_DATA to the shared data folder)")

    # The local launcher's study, built meanwhile by whichever test asked first. Its runs are
    # reused but for four, which run as Slurm jobs: a parent and its pseudo-label child (the job
    # dependency), another method and a GAN. Each job runs the local launcher's own `execute`,
    # so four kinds of run show the path; a second whole study on Slurm cost 3.3 min of the suite.
    study = smoke_study(tmp_path_factory)
    out = tmp_path / "on-slurm"
    for run in (study / "runs").iterdir():
        if run.name not in ON_SLURM:
            shutil.copytree(run, out / "runs" / run.name)
    shutil.copy(study / "profile.txt", out / "profile.txt")
    command = [
        sys.executable,
        "-m",
        "advlab.cli",
        "reproduce",
        "--profile",
        "smoke",
        "--out",
        str(out),
        "--launcher",
        "slurm",
        "--cpus-per-run",
        str(default_threads(2)),
        "--time-limit",
        "30",
        "--poll-every",
        "1",
        "--data-dir",
        str(REAL_DATA),
    ]  # the local study's threads

    def cli(*extra: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*command, *extra], env=slurm.env, capture_output=True, text=True, timeout=timeout)

    submitted = cli("--no-wait", timeout=300)
    assert submitted.returncode == 0, submitted.stderr
    assert f"{len(ON_SLURM)} runs submitted, 0 already in the queue" in submitted.stdout
    assert "queued or running as Slurm jobs; run the same command again" in submitted.stdout
    jobs = json.loads((out / "slurm" / "jobs.json").read_text())["jobs"]
    assert sorted(jobs) == sorted(ON_SLURM) and len(set(jobs.values())) == len(ON_SLURM)
    # the pseudo-label runs wait in the queue for their parent's job
    pending = {line.split()[0]: line.split()[1] for line in slurm.queue()}
    assert pending.get(jobs["pl-dann-s0"]) == "PENDING"
    slurm.run("scontrol", "hold", jobs["pl-dann-s0"])  # kept pending until the partial report below is made
    dependency = slurm.run("scontrol", "show", "job", jobs["pl-dann-s0"]).stdout
    assert f"Dependency=afterany:{jobs['dann-s0']}" in dependency, dependency

    again = cli("--no-wait")  # while they are queued or running: nothing is submitted twice
    assert again.returncode == 0 and "0 runs submitted" in again.stdout, again.stdout + again.stderr
    assert json.loads((out / "slurm" / "jobs.json").read_text())["jobs"] == jobs
    assert len(slurm.queue()) <= len(ON_SLURM)

    partial = cli("--report-only", timeout=300)  # on demand, from whatever has finished
    slurm.run("scontrol", "release", jobs["pl-dann-s0"])
    assert partial.returncode == 1 and "the report is partial" in partial.stderr, partial.stderr
    assert "**This report is partial**" in (out / "report.md").read_text()

    finished = cli(timeout=900)  # waits for every job, then writes the report
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr
    # nothing submitted twice; the jobs may all be over by now (then the launcher says nothing)
    assert re.search(r"[1-9]\d* runs submitted", finished.stdout) is None
    assert re.search(r"report \[(\d+)/\1\] run times", finished.stdout), finished.stdout[-2000:]  # its last section
    assert slurm.queue() == []
    on_slurm = json.loads((out / "results.json").read_text())
    local = json.loads((study / "results.json").read_text())
    assert on_slurm["failed_runs"] == [] and on_slurm["unfinished_runs"] == [] and on_slurm["launcher"] == "slurm"
    assert numbers(on_slurm, out) == numbers(local, study)
    assert "The runs ran as slurm jobs" in (out / "report.md").read_text()


def test_scancel_loses_at_most_the_unfinished_epoch_and_the_next_invocation_resumes(slurm, tmp_path):
    from advlab.report.slurm import SlurmOptions, launch
    from advlab.report.study import Run
    from conftest import write_domain_npz

    source = write_domain_npz(tmp_path / "source.npz", 3000, 200, colour=False, seed=0)
    target = write_domain_npz(tmp_path / "target.npz", 3000, 200, colour=True, seed=10)
    args = (
        "adapt",
        "--method",
        "dann",
        "--source",
        str(source),
        "--target",
        str(target),
        "--epochs",
        "3",
        "--val-size",
        "100",
    )
    run = Run("dann-s0", args)
    options = SlurmOptions(cpus_per_run=1, poll_seconds=0.5, time_limit_min=30)
    with slurm.active():
        launched = launch([run], tmp_path, SlurmOptions(cpus_per_run=1, wait=False), None, quiet=True)
        job = launched.in_queue["dann-s0"]
        metrics = tmp_path / "runs" / "dann-s0" / "metrics.jsonl"
        deadline = time.monotonic() + 300
        while not (metrics.exists() and metrics.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.1)  # until its first epoch is done
        slurm.run("scancel", job)
        while any(line.split()[0] == job for line in slurm.queue()) and time.monotonic() < deadline:
            time.sleep(0.2)
        kept = metrics.read_text().splitlines()
        checkpoint = load_checkpoint(tmp_path / "runs" / "dann-s0" / "last.pt")
        assert 1 <= checkpoint["epoch"] == len(kept) < 3  # every finished epoch kept; only the one in flight lost
        assert not (tmp_path / "runs" / "dann-s0" / "summary.json").exists()
        assert not (
            tmp_path / "runs" / "dann-s0" / "failed.txt"
        ).exists()  # cancelled is not failed: it will be resumed

        resumed = launch([run], tmp_path, options, None, quiet=True)
        assert resumed.submitted == 1 and [o.status for o in resumed.outcomes] == ["done"]
    after = metrics.read_text().splitlines()
    assert len(after) == 3 and after[: len(kept)] == kept
    # the same as a run never cancelled (threads as in the job)
    whole = tmp_path / "whole"
    result = run_cli(*args, "--out", str(whole), "--threads", "1", "--quiet", timeout=300)
    assert result.returncode == 0, result.stderr
    assert untimed(after) == untimed((whole / "metrics.jsonl").read_text().splitlines())


def untimed(lines: list[str]) -> list[dict]:
    return [
        {k: v for k, v in json.loads(line).items() if "seconds" not in k and "per_second" not in k} for line in lines
    ]


@pytest.mark.skipif(
    not os.environ.get("ADVLAB_LONG_TESTS"),
    reason="takes over 2 minutes (Slurm holds a requeued job for 120 s); set ADVLAB_LONG_TESTS=1 to run it",
)
def test_a_requeued_job_as_on_preemption_resumes_its_run_under_the_same_job(slurm, tmp_path):
    from advlab.report.slurm import SlurmOptions, launch
    from advlab.report.study import Run
    from conftest import write_domain_npz

    source = write_domain_npz(tmp_path / "source.npz", 3000, 200, colour=False, seed=0)
    target = write_domain_npz(tmp_path / "target.npz", 3000, 200, colour=True, seed=10)
    args = (
        "adapt",
        "--method",
        "dann",
        "--source",
        str(source),
        "--target",
        str(target),
        "--epochs",
        "4",
        "--val-size",
        "100",
    )
    with slurm.active():
        job = launch(
            [Run("dann-s0", args)], tmp_path, SlurmOptions(cpus_per_run=1, wait=False), None, quiet=True
        ).in_queue["dann-s0"]
        metrics = tmp_path / "runs" / "dann-s0" / "metrics.jsonl"
        deadline = time.monotonic() + 600
        while not (metrics.exists() and metrics.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.1)
        slurm.run("scontrol", "requeue", job)  # what a pre-emption with PreemptMode=REQUEUE does
        waited = launch(
            [Run("dann-s0", args)], tmp_path, SlurmOptions(cpus_per_run=1, poll_seconds=1), None, quiet=True
        )
        assert waited.submitted == 0 and [o.status for o in waited.outcomes] == ["done"]
    assert "--resume" in (tmp_path / "logs" / "dann-s0.log").read_text()
    whole = tmp_path / "whole"
    assert run_cli(*args, "--out", str(whole), "--threads", "1", "--quiet", timeout=300).returncode == 0
    assert untimed(metrics.read_text().splitlines()) == untimed((whole / "metrics.jsonl").read_text().splitlines())


def test_tune_workers_as_slurm_jobs_share_one_journal_study(slurm, tmp_path):
    """`advlab tune --launcher slurm`: two worker jobs on the real Slurm fill one study of three
    trials in OUT/study.journal; the command waits for them, then chooses and reports."""
    pytest.importorskip("optuna", reason="optuna is the tune extra (pip install '.[tune]')")
    from conftest import write_domain_npz

    source = write_domain_npz(tmp_path / "source.npz", 600, 200, colour=False, seed=0)
    target = write_domain_npz(tmp_path / "target.npz", 600, 200, colour=True, seed=10)
    out = tmp_path / "tune"
    command = [sys.executable, "-m", "advlab.cli", "tune", "--source", str(source), "--target", str(target)]
    command += ["--out", str(out), "--methods", "dann", "--trials", "3", "--jobs", "2", "--trial-epochs", "1"]
    command += ["--trial-subset", "200", "--batch-size", "16", "--val-size", "50", "--validation-size", "50"]
    command += ["--launcher", "slurm", "--cpus-per-run", "1", "--time-limit", "10", "--poll-every", "1"]
    result = subprocess.run(command, env=slurm.env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "slurm launcher (slurm): 2 tune workers submitted" in result.stdout and "warning" not in result.stdout
    rows = json.loads((out / "trials.json").read_text())["rows"]
    assert len(rows) == 3 and rows[0]["method"] == "source_only" and (out / "study.journal").is_file()
    assert slurm.queue() == []
