"""`advlab reproduce --profile smoke` end to end on the real data, and the report in a real browser."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
    """The local launcher's smoke study, shared with the Slurm tests (never changed after it is built)."""
    from smoke_study import smoke_study

    return smoke_study(tmp_path_factory)


def test_progress_lines_name_the_runs_in_flight_and_the_report_sections(study):
    said = (study.parent / "smoke-study-stdout.txt").read_text()
    from advlab.report.build import count
    from advlab.report.runner import default_threads

    assert f"2 at a time, {count(default_threads(2), 'thread')} each" in said
    assert re.search(r"\.\.\. \d+/\d+ runs ended, [\d.]+ min; running: \S+ \(epoch \d+/\d+\)", said), said[-3000:]
    assert "report [1/13] adaptation table" in said and "report [13/13] run times" in said


def test_smoke_study_writes_every_part_of_the_report(study):
    md = (study / "report.md").read_text()
    for section in (
        "1. Source only, DANN",
        "1b. The adaptation methods side by side",
        "2. Feature spaces",
        "3. DANN over training",
        "Q1.",
        "Q2.",
        "Q3.",
        "Q4.",
        "5. Conditional GANs",
        "5b. Remedies",
        "6. Choosing a checkpoint without target labels",
        "7. Tuning without target labels",
    ):
        assert section in md
    figures = re.findall(r"\]\((figures/[^)]+\.png)\)", md)
    assert {
        "figures/tsne.png",
        "figures/lambda-sweep.png",
        "figures/pseudo-labels.png",
        "figures/dann-curves.png",
        "figures/gans-samples.png",
        "figures/methods.png",
        "figures/model-selection.png",
        "figures/gans-losses.png",
        "figures/gan-zy-grid.png",
        "figures/tune-scores.png",
    } <= set(figures)
    assert all((study / f).stat().st_size > 1000 for f in figures)
    results = json.loads((study / "results.json").read_text())
    assert results["failed_runs"] == [] and results["machine"]["cpu_count"] >= 1 and results["software"]["torch"]
    assert len(results["q3_lambda_sweep"]) == 4 and results["q4_pseudo_labels"]["dann"]["rounds"]
    assert set(results["gan_remedies"]) == {"unconditional", "pacgan2", "sngan", "conditional", "projection"}
    assert md.count("> **Answer.**") >= 10  # one measured answer per section
    assert sum(results["tune"]["trials"].values()) == 2 and results["tune"]["verdict"]
    selection = results["model_selection"]  # the smoke runs are too short to learn: flagged, never picked
    snd = selection["validators"]["snd"]
    assert (snd is not None and snd["checkpoints_scored"] > 0) or selection["skipped_degenerate"] > 0
    from advlab.report.study import COMPARED_METHODS

    assert set(COMPARED_METHODS) <= set(results["methods"]) and all(
        results["methods"][m]["target_acc"] for m in COMPARED_METHODS
    )


def test_a_second_invocation_reuses_every_finished_run(study, tmp_path):
    study = Path(shutil.copytree(study, tmp_path / "study", symlinks=True))  # the shared study stays as it was built
    result = run_cli(
        "reproduce", "--profile", "smoke", "--out", str(study), "--jobs", "2", "--threads", "1", timeout=600
    )
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
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    probe = re.search(r'<pre id="advlab-probe">(.*?)</pre>', result.stdout, re.S)
    assert probe, result.stderr[-2000:]
    found = json.loads(probe.group(1).replace("&quot;", '"'))
    assert found["images"] >= 7 and found["broken"] == [] and found["errors"] == []


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    from advlab.cli import main

    def one_line(fragment: str, *argv: str) -> None:  # in this process: each is checked before anything runs
        assert main(["reproduce", *argv]) == 2
        said = capsys.readouterr().err.strip().splitlines()
        assert len(said) == 1 and said[0].startswith("advlab: error: ") and fragment in said[0], said

    assert_one_line_error(run_cli("reproduce", "--profile", "huge"), "invalid choice")  # argparse's, in a real process
    one_line("jobs must be >= 1", "--jobs", "0", "--out", str(tmp_path / "s"))
    one_line("threads must be >= 1", "--threads", "0", "--out", str(tmp_path / "s"))
    one_line("device must be cpu, cuda or auto", "--device", "tpu", "--out", str(tmp_path / "s"))
    for bad in ("0", "-5", "nan", "inf"):
        one_line("status every must be > 0 seconds and finite", "--status-every", bad, "--out", str(tmp_path / "s"))
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "profile.txt").write_text("full\n")
    one_line("holds a 'full' study", "--profile", "smoke", "--out", str(tmp_path / "old"))
    (tmp_path / "file").write_text("x")
    one_line("not a directory", "--out", str(tmp_path / "file"))
    assert not (tmp_path / "s").exists()


def test_reproduce_refuses_a_folder_of_the_users_files_or_a_run(tmp_path, capsys):
    """--out of a folder holding a user's notes, or an adapt run, received a whole study."""
    from advlab.cli import main

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("mine\n")
    assert main(["reproduce", "--profile", "smoke", "--out", str(notes)]) == 2
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and "holds files advlab did not write" in said[0], said
    assert sorted(p.name for p in notes.iterdir()) == ["notes.txt"]  # nothing written beside them

    run = tmp_path / "run"
    run.mkdir()
    (run / ".advlab-run").write_text("adapt\n")
    (run / "metrics.jsonl").write_text("")
    assert main(["reproduce", "--profile", "smoke", "--out", str(run), "--report-only"]) == 2
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and "holds an advlab adapt run, not a study" in said[0], said
    assert sorted(p.name for p in run.iterdir()) == [".advlab-run", "metrics.jsonl"]


def test_sigterm_stops_the_study_and_its_runs_and_keeps_its_time(real_data, tmp_path):
    out = tmp_path / "study"
    study = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "advlab.cli",
            "reproduce",
            "--profile",
            "smoke",
            "--out",
            str(out),
            "--jobs",
            "2",
            "--data-dir",
            str(real_data),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
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
