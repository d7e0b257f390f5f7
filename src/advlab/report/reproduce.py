"""`advlab reproduce`: plan the study, run what is not finished, write the report."""

from __future__ import annotations

import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from advlab.data.domains import load_domain
from advlab.errors import AdvlabError
from advlab.gan.evaluator import build_evaluator
from advlab.report.build import build_report, count
from advlab.report.runner import Outcome, already_over, default_threads, run_all, run_dir
from advlab.report.slurm import SlurmOptions, environment_problem, in_queue_note, launch
from advlab.report.study import PROFILES, Profile, plan
from advlab.report.timing import StudyClock
from advlab.runs.engine import MARKER, refuse_users_folder
from advlab.runs.hardware import device_problem, resolve_device

LAUNCHERS = ("local", "slurm")


def prepare_shared(profile: Profile, data_dir: str | None, quiet: bool, device: str | None = None) -> None:
    """What many runs read, made once before they start in parallel: the decoded data sets
    in the cache, and the GAN evaluator (otherwise every GAN run would train its own copy).
    On a fresh cache, MNIST-M's decoding (one core, mostly PNG) and the evaluator's training
    (MNIST only) overlap."""
    load_domain("mnist", data_dir, quiet=quiet)
    with ThreadPoolExecutor(max_workers=1) as pool:
        decoding = pool.submit(load_domain, "mnist_m", data_dir, quiet=quiet)
        if profile.gan_eval_samples:
            record = build_evaluator(data_dir, quiet=quiet, device=resolve_device(device or "cpu"))
            if not quiet:
                print(f"evaluator ready: test accuracy {record['test_acc']:.4f} ({record['path']})", flush=True)
        decoding.result()


@dataclass
class StudyResult:
    """What `reproduce` did: the report's files (None while runs are still queued and it
    was not asked to wait), failed runs, runs not finished, and the plan's size."""

    md: Path | None
    page: Path | None
    failures: list[str]
    unfinished: list[str]
    planned: int


def refuse_foreign_folder(out: Path) -> None:
    """A study goes into a new or empty folder, or one that holds a study (its profile.txt,
    written before anything else): never beside a user's files or into a run directory."""
    if (out / MARKER).is_file() and not (out / "profile.txt").exists():
        made_by = (out / MARKER).read_text(errors="replace").strip() or "adapt"
        raise AdvlabError(f"--out {out} holds an advlab {made_by} run, not a study; choose another --out")
    refuse_users_folder(out, {"profile.txt"})


def reproduce(
    profile_name: str,
    out: Path,
    jobs: int = 1,
    data_dir: str | None = None,
    quiet: bool = False,
    threads: int | None = None,
    device: str | None = None,
    launcher: str = "local",
    cluster: SlurmOptions | None = None,
    report_only: bool = False,
    status_every: float = 60.0,
) -> StudyResult:
    """Run the study and write its report.

    `threads`: torch threads per run (default: the cores shared among the `jobs` runs);
    `device`: where every run trains (cpu, cuda, auto), the shared GAN evaluator too, and
    where the report's analysis embeds the test images; the t-SNE and the proxy A-distance
    on those embeddings run on the CPU. `launcher`: "local" runs `jobs` runs at a time here;
    "slurm" submits each run as a Slurm job (`cluster` says what each asks for).
    `report_only`: run nothing, build
    the report from the runs finished so far and name the others. `status_every`: seconds
    between the lines that name the runs in flight."""
    if profile_name not in PROFILES:
        raise AdvlabError(f"unknown profile {profile_name!r}; choose from {', '.join(PROFILES)}")
    if jobs < 1:
        raise AdvlabError(f"jobs must be >= 1, got {jobs}")
    if threads is not None and threads < 1:
        raise AdvlabError(f"threads must be >= 1, got {threads}")
    if not 0 < status_every < float("inf"):
        raise AdvlabError(f"status every must be > 0 seconds and finite, got {status_every}")
    if device is not None and device_problem(device):
        raise AdvlabError(device_problem(device))
    if launcher not in LAUNCHERS:
        raise AdvlabError(f"unknown launcher {launcher!r}; choose from local, slurm")
    cluster = cluster or SlurmOptions()
    if launcher != "local" and not report_only:
        problem = cluster.problem() or environment_problem()
        if problem:
            raise AdvlabError(problem)
    if out.exists() and not out.is_dir():
        raise AdvlabError(f"--out {out} exists and is not a directory")
    refuse_foreign_folder(out)
    profile = PROFILES[profile_name]
    runs = plan(profile)
    if report_only and not (out / "profile.txt").exists():
        raise AdvlabError(f"{out} holds no study to report on; run advlab reproduce --out {out} first")
    out.mkdir(parents=True, exist_ok=True)
    marker = out / "profile.txt"  # finished runs are reused by name: never mix two profiles' runs
    if marker.exists() and marker.read_text().strip() != profile.name:
        raise AdvlabError(
            f"{out} holds a '{marker.read_text().strip()}' study; give the {profile.name} profile another --out"
        )
    marker.write_text(profile.name + "\n")
    command = ["advlab", "reproduce", "--profile", profile.name, "--out", str(out)]
    if report_only:
        return _report(out, profile, runs, command + ["--report-only"], [], launcher, quiet, device)
    at_once = jobs if launcher == "local" else cluster.array_limit
    if not quiet:
        where = (
            f"{jobs} at a time, {count(threads or default_threads(jobs), 'thread')} each"
            if launcher == "local"
            else f"as {launcher} jobs of {count(cluster.cpus_per_run, 'CPU')}"
            + (f" and {count(cluster.gpus_per_run, 'GPU')}" if cluster.gpus_per_run else "")
        )
        print(f"advlab reproduce --profile {profile.name}: {len(runs)} runs in {out}/runs, {where}", flush=True)
    clock = StudyClock(out, at_once)
    prepare_shared(profile, data_dir, quiet, device)
    try:
        record = lambda o: clock.record(o.name, o.status, o.seconds)  # noqa: E731
        if launcher == "local":
            outcomes = run_all(
                runs,
                out,
                jobs,
                data_dir,
                quiet,
                on_outcome=record,
                threads=threads,
                device=device,
                status_every=status_every,
            )
            in_queue: dict[str, str] = {}
            command += ["--jobs", str(jobs)] + (["--threads", str(threads)] if threads else [])
        else:
            launched = launch(
                runs,
                out,
                cluster,
                data_dir,
                device,
                quiet,
                on_outcome=record,
                scheduler=launcher,
                status_every=status_every,
            )
            outcomes, in_queue = launched.outcomes, launched.in_queue
            command += ["--launcher", launcher, *cluster.arguments()]
        command += ["--device", device] if device else []
        failures = [f"{o.name}: {o.error}" for o in outcomes if o.status == "failed"]
        if in_queue:  # submitted without waiting: the report comes when they are done
            return StudyResult(
                None, None, failures, [f"{n}: {in_queue_note(j)}" for n, j in in_queue.items()], len(runs)
            )
        return _report(out, profile, runs, command, outcomes, launcher, quiet, device)
    finally:
        clock.stop()  # this invocation's time includes the report's build


def _report(
    out: Path,
    profile: Profile,
    runs: list,
    command: list[str],
    outcomes: list[Outcome],
    launcher: str,
    quiet: bool,
    device: str | None = None,
) -> StudyResult:
    """Build the report; runs neither finished nor failed for good are named as unfinished."""
    failed = {o.name: o.error for o in outcomes if o.status == "failed"}
    unfinished = []
    for r in runs:
        over = already_over(r, out / "runs")
        if over is not None and over.status == "failed":
            failed.setdefault(r.name, over.error)
        elif over is None and r.name not in failed:
            unfinished.append(
                f"{r.name}: " + ("started, not finished" if run_dir(out, r.name).exists() else "not started")
            )
    failures = [f"{n}: {e}" for n, e in failed.items()]
    md, page = build_report(
        out,
        profile,
        shlex.join(command),
        failures,
        say=None if quiet else lambda line: print(line, flush=True),
        unfinished=unfinished,
        launcher=launcher,
        device=str(resolve_device(device or "cpu")),
    )
    return StudyResult(md, page, failures, unfinished, len(runs))
