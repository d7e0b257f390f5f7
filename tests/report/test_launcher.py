"""The cluster launcher's code path through submitit's local executor (no Slurm needed):
submission, parents before children, reuse of finished runs, no second submission of a
run in flight, the record in DIR/slurm/jobs.json, and the CLI's one-line errors."""

from __future__ import annotations

import json
import threading

import pytest

from advlab.cli import main
from advlab.report.slurm import SlurmOptions, launch
from advlab.report.study import Run
from local_jobs import LocalJobs
from tests_helpers import assert_one_line_error, run_cli

pytest.importorskip("submitit", reason="submitit is the cluster extra (pip install '.[cluster]')")


def tiny_plan(tiny_domains) -> list[Run]:
    source, target = tiny_domains
    common = (
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
    )
    return [
        Run("source_only-s0", ("adapt", "--method", "source_only", *common)),
        Run("dann-s0", ("adapt", "--method", "dann", *common)),
        Run(
            "pl-dann-s0",
            (
                "adapt",
                "--method",
                "pseudo_label",
                "--init",
                "{runs}/dann-s0",
                "--rounds",
                "1",
                "--pl-threshold",
                "0",
                *common,
            ),
            after=("dann-s0",),
        ),
    ]


OPTIONS = SlurmOptions(cpus_per_run=1, poll_seconds=0.5)


def test_runs_parents_before_children_and_a_rerun_reuses_them(tiny_domains, tmp_path, capsys):
    plan = tiny_plan(tiny_domains)
    launched = launch(plan, tmp_path, OPTIONS, None, scheduler=LocalJobs, status_every=0.0)
    assert sorted((o.name, o.status) for o in launched.outcomes) == [
        ("dann-s0", "done"),
        ("pl-dann-s0", "done"),
        ("source_only-s0", "done"),
    ]
    assert all(o.seconds > 0 for o in launched.outcomes), launched.outcomes  # the job's own Outcome, read back
    for r in plan:
        assert (tmp_path / "runs" / r.name / "summary.json").exists()
    # the child started once its parent had finished
    assert (tmp_path / "runs" / "pl-dann-s0" / "config.yaml").stat().st_mtime >= (
        tmp_path / "runs" / "dann-s0" / "summary.json"
    ).stat().st_mtime
    record = json.loads((tmp_path / "slurm" / "jobs.json").read_text())["jobs"]
    assert set(record) == {r.name for r in plan}
    said = capsys.readouterr().out
    assert (
        "slurm launcher (submitit-local): 2 runs submitted, 0 already in the queue, 0 over before this invocation"
        in said
    )
    assert "runs over" in said and "queued; running:" in said and ": done" in said

    again = launch(plan, tmp_path, OPTIONS, None, quiet=True, scheduler=LocalJobs)
    assert again.submitted == 0 and {o.status for o in again.outcomes} == {"skipped"}


def test_a_run_in_flight_is_never_submitted_twice(tiny_domains, tmp_path):
    """Two invocations at once, then a third while the job runs: one submission; a fourth waits for it."""
    plan = tiny_plan(tiny_domains)[:1]
    no_wait = SlurmOptions(cpus_per_run=1, wait=False)
    results = []
    threads = [
        threading.Thread(
            target=lambda: results.append(launch(plan, tmp_path, no_wait, None, quiet=True, scheduler=LocalJobs))
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.submitted for r in results) == [0, 1]
    assert results[0].in_queue == results[1].in_queue and list(results[0].in_queue) == ["source_only-s0"]
    third = launch(plan, tmp_path, no_wait, None, quiet=True, scheduler=LocalJobs)
    assert third.submitted == 0 and third.in_queue == results[0].in_queue
    waited = launch(plan, tmp_path, OPTIONS, None, quiet=True, scheduler=LocalJobs)
    assert waited.submitted == 0 and [o.status for o in waited.outcomes] == ["done"]


def test_a_failed_parent_is_kept_and_its_child_says_why_it_did_not_run(tiny_domains, tmp_path):
    source, target = tiny_domains
    plan = [
        Run(
            "dann-s0", ("adapt", "--method", "dann", "--source", str(source), "--target", str(target), "--epochs", "1")
        ),  # --val-size 1000 > 600
        Run(
            "pl-dann-s0",
            (
                "adapt",
                "--method",
                "pseudo_label",
                "--init",
                "{runs}/dann-s0",
                "--source",
                str(source),
                "--target",
                str(target),
                "--epochs",
                "1",
            ),
            after=("dann-s0",),
        ),
    ]
    outcomes = {o.name: o for o in launch(plan, tmp_path, OPTIONS, None, quiet=True, scheduler=LocalJobs).outcomes}
    assert outcomes["dann-s0"].status == "failed" and "leaves no training images" in outcomes["dann-s0"].error
    assert (tmp_path / "runs" / "dann-s0" / "failed.txt").exists()
    assert outcomes["pl-dann-s0"].status == "failed" and "needs dann-s0" in outcomes["pl-dann-s0"].error
    again = launch(plan[:1], tmp_path, OPTIONS, None, quiet=True, scheduler=LocalJobs)
    assert again.submitted == 0 and [o.status for o in again.outcomes] == [
        "failed"
    ]  # a result of its setting: not retried


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--partition", "gpu"], "--partition only apply with --launcher slurm"),
        (["--no-wait"], "--no-wait only apply with --launcher slurm"),
        (["--launcher", "slurm", "--jobs", "2"], "--jobs and --threads are for the local launcher"),
        (["--launcher", "slurm", "--cpus-per-run", "0"], "--cpus-per-run must be >= 1"),
        (["--launcher", "slurm", "--time-limit", "0"], "--time-limit must be >= 1"),
        (["--launcher", "slurm", "--gpus-per-run", "-1"], "--gpus-per-run must be >= 0"),
        (["--launcher", "slurm", "--poll-every", "0"], "--poll-every must be > 0 seconds and finite, got 0.0"),
        (["--launcher", "slurm", "--poll-every", "inf"], "--poll-every must be > 0 seconds and finite, got inf"),
        (["--launcher", "slurm", "--poll-every", "nan"], "--poll-every must be > 0 seconds and finite, got nan"),
        (["--poll-every", "1"], "--poll-every only apply with --launcher slurm"),
    ],
)
def test_bad_cluster_options_are_one_line_errors(args, fragment, tmp_path, capsys):
    assert main(["reproduce", "--profile", "smoke", "--out", str(tmp_path / "s"), *args]) == 2
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and said[0].startswith("advlab: error: ") and fragment in said[0], said
    assert not (tmp_path / "s").exists()  # nothing made


def test_report_only_on_an_empty_folder_is_a_one_line_error(tmp_path):
    assert_one_line_error(
        run_cli("reproduce", "--profile", "smoke", "--out", str(tmp_path / "none"), "--report-only"), "holds no study"
    )


def test_slurm_launcher_without_slurm_says_what_is_missing(tmp_path, monkeypatch):
    from advlab.report import slurm

    monkeypatch.setattr(slurm.shutil, "which", lambda name: None)
    assert (
        slurm.environment_problem()
        == "the slurm launcher needs Slurm's sbatch on PATH (run it on the cluster's login node)"
    )


def test_each_job_asks_slurm_for_what_the_options_say(tmp_path):
    from advlab.report.slurm import SlurmJobs

    options = SlurmOptions(partition="gpu", time_limit_min=90, cpus_per_run=4, gpus_per_run=1, array_limit=8)
    parameters = SlurmJobs(tmp_path, options).executor(["12_3", "14"]).parameters
    assert (
        parameters["partition"],
        parameters["time"],
        parameters["cpus_per_task"],
        parameters["gpus_per_node"],
        parameters["array_parallelism"],
        parameters["dependency"],
    ) == ("gpu", 90, 4, 1, 8, "afterany:12_3:14")
    plain = SlurmJobs(tmp_path, SlurmOptions()).executor([]).parameters
    assert "partition" not in plain and "gpus_per_node" not in plain and "dependency" not in plain
    assert options.arguments() == [
        "--partition",
        "gpu",
        "--time-limit",
        "90",
        "--cpus-per-run",
        "4",
        "--gpus-per-run",
        "1",
        "--array-limit",
        "8",
    ]
