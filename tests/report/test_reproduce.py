"""`advlab reproduce --profile smoke` end to end on the real data, the report in a real
browser, and the same study on a real one-node Slurm (its numbers equal the local launcher's)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from advlab.runs.checkpoint import load_checkpoint
from tests_helpers import assert_one_line_error, processes_mentioning, run_cli

pytestmark = pytest.mark.slow

PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e.target && e.target.src || e)), true);
const _error = console.error; console.error = (...a) => { window.__errors.push(a.join(' ')); _error(...a); };
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const broken = images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt);
  const out = document.createElement('pre'); out.id = 'advlab-probe';
  out.textContent = JSON.stringify({images: images.length, broken: broken, errors: window.__errors});
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    from conftest import REAL_DATA

    if not (REAL_DATA / "mnist" / "train-images-idx3-ubyte.gz").is_file() or not (REAL_DATA / "mnist_m" / "mnist_m.tar.gz").is_file():
        pytest.skip(f"real MNIST / MNIST-M not found under {REAL_DATA} (set ADVLAB_DATA to the shared data folder)")
    out = tmp_path_factory.mktemp("study")
    result = run_cli("reproduce", "--profile", "smoke", "--out", str(out), "--jobs", "2", "--data-dir", str(REAL_DATA), timeout=900)
    assert result.returncode == 0, result.stderr
    (out.parent / "first-stdout.txt").write_text(result.stdout)
    return out


def test_progress_lines_name_the_runs_in_flight_and_the_report_sections(study):
    said = (study.parent / "first-stdout.txt").read_text()
    from advlab.report.build import count
    from advlab.report.runner import default_threads

    assert f"2 at a time, {count(default_threads(2), 'thread')} each" in said
    assert re.search(r"\.\.\. \d+/\d+ runs ended, [\d.]+ min; running: \S+ \(epoch \d+/\d+\)", said), said[-3000:]
    assert "report [1/12] adaptation table" in said and "report [12/12] run times" in said


def test_smoke_study_writes_every_part_of_the_report(study):
    md = (study / "report.md").read_text()
    for section in ("1. Source only, DANN", "1b. The adaptation methods side by side", "2. Feature spaces", "3. DANN over training", "Q1.", "Q2.", "Q3.", "Q4.", "5. Conditional GANs", "5b. Remedies",
                    "6. Choosing a checkpoint without target labels"):
        assert section in md
    figures = re.findall(r"\]\((figures/[^)]+\.png)\)", md)
    assert {"figures/tsne.png", "figures/lambda-sweep.png", "figures/pseudo-labels.png", "figures/dann-curves.png",
            "figures/gans-samples.png", "figures/methods.png", "figures/model-selection.png", "figures/gans-losses.png", "figures/gan-zy-grid.png"} <= set(figures)
    assert all((study / f).stat().st_size > 1000 for f in figures)
    results = json.loads((study / "results.json").read_text())
    assert results["failed_runs"] == [] and results["machine"]["cpu_count"] >= 1 and results["software"]["torch"]
    assert len(results["q3_lambda_sweep"]) == 8 and results["q4_pseudo_labels"]["dann"]["rounds"]
    assert set(results["gan_remedies"]) == {"unconditional", "pacgan2", "sngan", "conditional", "projection"}
    assert md.count("> **Answer.**") >= 9  # one measured answer per section
    assert results["model_selection"]["validators"]["snd"]["checkpoints_scored"] > 0
    from advlab.report.study import COMPARED_METHODS

    assert set(COMPARED_METHODS) <= set(results["methods"]) and all(results["methods"][m]["target_acc"] for m in COMPARED_METHODS)


def test_a_second_invocation_reuses_every_finished_run(study):
    result = run_cli("reproduce", "--profile", "smoke", "--out", str(study), "--jobs", "2", "--threads", "1", timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": skipped") == len(list((study / "runs").iterdir()))
    assert "2 at a time, 1 thread each" in result.stdout
    timing = json.loads((study / "results.json").read_text())["timing"]
    assert timing["invocations"] == 2 and set(timing["per_run"]) == {p.name for p in (study / "runs").iterdir()}
    md = (study / "report.md").read_text()
    assert "over 2 invocations" in md and "--threads 1" in md
    # the header's wall time includes the report's build (which takes most of a rerun's time)
    invocations = json.loads((study / "timing.json").read_text())["invocations"]
    assert timing["report_build_seconds"] > 0 and invocations[-1]["seconds"] >= timing["report_build_seconds"]


def test_report_opens_offline_in_headless_chromium_with_every_image_loaded(study, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium on this machine (.ci/run installs it from the Debian packages where it can)")
    page = tmp_path / "report.html"  # a copy elsewhere: nothing may be fetched from beside the original
    page.write_text((study / "report.html").read_text().replace("<head>", "<head>" + PROBE, 1))
    result = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                             "--virtual-time-budget=10000", "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    probe = re.search(r'<pre id="advlab-probe">(.*?)</pre>', result.stdout, re.S)
    assert probe, result.stderr[-2000:]
    found = json.loads(probe.group(1).replace("&quot;", '"'))
    assert found["images"] >= 7 and found["broken"] == [] and found["errors"] == []


def test_bad_arguments_are_one_line_errors(tmp_path):
    assert_one_line_error(run_cli("reproduce", "--profile", "huge"), "invalid choice")
    assert_one_line_error(run_cli("reproduce", "--jobs", "0", "--out", str(tmp_path / "s")), "jobs must be >= 1")
    assert_one_line_error(run_cli("reproduce", "--threads", "0", "--out", str(tmp_path / "s")), "threads must be >= 1")
    assert_one_line_error(run_cli("reproduce", "--device", "tpu", "--out", str(tmp_path / "s")), "device must be cpu, cuda or auto")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "profile.txt").write_text("full\n")
    assert_one_line_error(run_cli("reproduce", "--profile", "smoke", "--out", str(tmp_path / "old")), "holds a 'full' study")
    (tmp_path / "file").write_text("x")
    assert_one_line_error(run_cli("reproduce", "--out", str(tmp_path / "file")), "not a directory")


def test_sigterm_stops_the_study_and_its_runs_and_keeps_its_time(real_data, tmp_path):
    out = tmp_path / "study"
    study = subprocess.Popen([sys.executable, "-m", "advlab.cli", "reproduce", "--profile", "smoke", "--out", str(out), "--jobs", "2",
                              "--data-dir", str(real_data)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while not list((out / "runs").glob("*/last.pt")) and time.monotonic() < deadline and study.poll() is None:
        time.sleep(0.1)  # until a run is training
    study.send_signal(signal.SIGTERM)
    _, stderr = study.communicate(timeout=120)
    assert study.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == "advlab: terminated; run the same command again to go on"
    timing = json.loads((out / "timing.json").read_text())
    assert timing["invocations"][0]["seconds"] > 0 and {r["status"] for r in timing["runs"]} <= {"done", "stopped"}
    assert not list((out / "runs").glob("*/failed.txt"))
    assert processes_mentioning(str(out)) == []


def test_epoch_in_flight_reads_what_each_kind_of_run_writes(tmp_path):
    from advlab.report.runner import epoch_in_flight
    from advlab.report.study import Run

    adapt, gan = Run("a", ("adapt", "--epochs", "20")), Run("g", ("gan", "--epochs", "5"))
    (tmp_path / "runs" / "a").mkdir(parents=True)
    assert epoch_in_flight(adapt, tmp_path) == "epoch 1/20"
    (tmp_path / "runs" / "a" / "metrics.jsonl").write_text('{"epoch": 1}\n{"epoch": 2}\n')
    assert epoch_in_flight(adapt, tmp_path) == "epoch 3/20"
    (tmp_path / "runs" / "g").mkdir()
    (tmp_path / "runs" / "g" / "losses.csv").write_text("iteration,epoch,loss_d\n1,1,0.5\n2,2,0.4\n")
    assert epoch_in_flight(gan, tmp_path) == "epoch 2/5"


# ---- the same study on a real one-node Slurm ---------------------------------------------


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

    return strip({k: v for k, v in results.items() if k not in ("command", "date", "machine", "software", "revision", "launcher", "timing")})


def test_the_study_on_slurm_reports_the_local_launchers_numbers(study, slurm, tmp_path):
    from advlab.report.runner import default_threads
    from conftest import REAL_DATA

    out = tmp_path / "on-slurm"
    command = [sys.executable, "-m", "advlab.cli", "reproduce", "--profile", "smoke", "--out", str(out), "--launcher", "slurm",
               "--cpus-per-run", str(default_threads(2)), "--time-limit", "30", "--data-dir", str(REAL_DATA)]  # the local study's threads

    def cli(*extra: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*command, *extra], env=slurm.env, capture_output=True, text=True, timeout=timeout)

    submitted = cli("--no-wait", timeout=300)
    assert submitted.returncode == 0, submitted.stderr
    assert "30 runs submitted, 0 already in the queue" in submitted.stdout
    assert "queued or running as Slurm jobs; run the same command again" in submitted.stdout
    jobs = json.loads((out / "slurm" / "jobs.json").read_text())["jobs"]
    assert len(jobs) == 30 and len(set(jobs.values())) == 30
    # the pseudo-label runs wait in the queue for their parent's job
    pending = {line.split()[0]: line.split()[1] for line in slurm.queue()}
    assert pending.get(jobs["pl-dann-s0"]) == "PENDING"
    dependency = slurm.run("scontrol", "show", "job", jobs["pl-dann-s0"]).stdout
    assert f"Dependency=afterany:{jobs['dann-s0']}" in dependency, dependency

    again = cli("--no-wait")  # while they are queued or running: nothing is submitted twice
    assert again.returncode == 0 and "0 runs submitted" in again.stdout, again.stdout + again.stderr
    assert json.loads((out / "slurm" / "jobs.json").read_text())["jobs"] == jobs
    assert len(slurm.queue()) <= 30

    partial = cli("--report-only", timeout=300)  # on demand, from whatever has finished
    assert partial.returncode == 1 and "the report is partial" in partial.stderr, partial.stderr
    assert "**This report is partial**" in (out / "report.md").read_text()

    finished = cli(timeout=900)  # waits for every job, then writes the report
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr
    assert "0 runs submitted" in finished.stdout and "report [12/12]" in finished.stdout
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
    args = ("adapt", "--method", "dann", "--source", str(source), "--target", str(target), "--epochs", "3", "--val-size", "100")
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
        assert not (tmp_path / "runs" / "dann-s0" / "failed.txt").exists()  # cancelled is not failed: it will be resumed

        resumed = launch([run], tmp_path, options, None, quiet=True)
        assert resumed.submitted == 1 and [o.status for o in resumed.outcomes] == ["done"]
    after = metrics.read_text().splitlines()
    assert len(after) == 3 and after[:len(kept)] == kept
    # the same as a run never cancelled (threads as in the job)
    whole = tmp_path / "whole"
    result = run_cli(*args, "--out", str(whole), "--threads", "1", "--quiet", timeout=300)
    assert result.returncode == 0, result.stderr
    assert untimed(after) == untimed((whole / "metrics.jsonl").read_text().splitlines())


def untimed(lines: list[str]) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if "seconds" not in k and "per_second" not in k} for line in lines]


@pytest.mark.skipif(not os.environ.get("ADVLAB_LONG_TESTS"), reason="takes over 2 minutes (Slurm holds a requeued job for 120 s); "
                                                                   "set ADVLAB_LONG_TESTS=1 to run it")
def test_a_requeued_job_as_on_preemption_resumes_its_run_under_the_same_job(slurm, tmp_path):
    from advlab.report.slurm import SlurmOptions, launch
    from advlab.report.study import Run
    from conftest import write_domain_npz

    source = write_domain_npz(tmp_path / "source.npz", 3000, 200, colour=False, seed=0)
    target = write_domain_npz(tmp_path / "target.npz", 3000, 200, colour=True, seed=10)
    args = ("adapt", "--method", "dann", "--source", str(source), "--target", str(target), "--epochs", "4", "--val-size", "100")
    with slurm.active():
        job = launch([Run("dann-s0", args)], tmp_path, SlurmOptions(cpus_per_run=1, wait=False), None, quiet=True).in_queue["dann-s0"]
        metrics = tmp_path / "runs" / "dann-s0" / "metrics.jsonl"
        deadline = time.monotonic() + 600
        while not (metrics.exists() and metrics.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.1)
        slurm.run("scontrol", "requeue", job)  # what a pre-emption with PreemptMode=REQUEUE does
        waited = launch([Run("dann-s0", args)], tmp_path, SlurmOptions(cpus_per_run=1, poll_seconds=1), None, quiet=True)
        assert waited.submitted == 0 and [o.status for o in waited.outcomes] == ["done"]
    assert "--resume" in (tmp_path / "logs" / "dann-s0.log").read_text()
    whole = tmp_path / "whole"
    assert run_cli(*args, "--out", str(whole), "--threads", "1", "--quiet", timeout=300).returncode == 0
    assert untimed(metrics.read_text().splitlines()) == untimed((whole / "metrics.jsonl").read_text().splitlines())
