"""`advlab reproduce`: plan the study, run what is not finished, write the report."""

from __future__ import annotations

import shlex
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from advlab.data.domains import load_domain
from advlab.errors import AdvlabError
from advlab.gan.evaluator import build_evaluator
from advlab.report.build import build_report, count
from advlab.report.runner import default_threads, run_all
from advlab.report.study import PROFILES, Profile, plan
from advlab.report.timing import StudyClock
from advlab.runs.hardware import device_problem


def prepare_shared(profile: Profile, data_dir: str | None, quiet: bool) -> None:
    """What many runs read, made once before they start in parallel: the decoded data sets
    in the cache, and the GAN evaluator (otherwise every GAN run would train its own copy).
    On a fresh cache, MNIST-M's decoding (one core, mostly PNG) and the evaluator's training
    (MNIST only) overlap."""
    load_domain("mnist", data_dir, quiet=quiet)
    with ThreadPoolExecutor(max_workers=1) as pool:
        decoding = pool.submit(load_domain, "mnist_m", data_dir, quiet=quiet)
        if profile.gan_eval_samples:
            record = build_evaluator(data_dir, quiet=quiet)
            if not quiet:
                print(f"evaluator ready: test accuracy {record['test_acc']:.4f} ({record['path']})", flush=True)
        decoding.result()


def reproduce(profile_name: str, out: Path, jobs: int = 1, data_dir: str | None = None, quiet: bool = False,
              threads: int | None = None, device: str | None = None) -> tuple[Path, Path, list[str], int]:
    """Run the study and write its report: (report.md, report.html, the failed runs, the number of runs).
    `threads`: torch threads per run (default: the cores shared among the `jobs` runs); `device`:
    where every run trains (cpu, cuda, auto; the report's own analysis runs on the CPU)."""
    if profile_name not in PROFILES:
        raise AdvlabError(f"unknown profile {profile_name!r}; choose from {', '.join(PROFILES)}")
    if jobs < 1:
        raise AdvlabError(f"jobs must be >= 1, got {jobs}")
    if threads is not None and threads < 1:
        raise AdvlabError(f"threads must be >= 1, got {threads}")
    if device is not None and device_problem(device):
        raise AdvlabError(device_problem(device))
    if out.exists() and not out.is_dir():
        raise AdvlabError(f"--out {out} exists and is not a directory")
    profile = PROFILES[profile_name]
    runs = plan(profile)
    out.mkdir(parents=True, exist_ok=True)
    marker = out / "profile.txt"  # finished runs are reused by name: never mix two profiles' runs
    if marker.exists() and marker.read_text().strip() != profile.name:
        raise AdvlabError(f"{out} holds a '{marker.read_text().strip()}' study; give the {profile.name} profile another --out")
    marker.write_text(profile.name + "\n")
    if not quiet:
        print(f"advlab reproduce --profile {profile.name}: {len(runs)} runs in {out}/runs, {jobs} at a time, "
              f"{count(threads or default_threads(jobs), 'thread')} each", flush=True)
    clock = StudyClock(out, jobs)
    prepare_shared(profile, data_dir, quiet)
    try:
        outcomes = run_all(runs, out, jobs, data_dir, quiet, on_outcome=lambda o: clock.record(o.name, o.status, o.seconds), threads=threads,
                           device=device)
        clock.stop()
        failures = [f"{o.name}: {o.error}" for o in outcomes if o.status == "failed"]
        command = ["advlab", "reproduce", "--profile", profile.name, "--out", str(out), "--jobs", str(jobs)]
        command += ["--threads", str(threads)] if threads else []
        command += ["--device", device] if device else []
        md, page = build_report(out, profile, shlex.join(command), failures, say=None if quiet else lambda line: print(line, flush=True))
    finally:
        clock.stop()  # this invocation's time includes the report's build
    return md, page, failures, len(runs)
