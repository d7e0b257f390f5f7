"""What every trainer shares: threads, opening a run directory, the epoch loop with its
progress bar, and the non-finite guard.

A trainer (domain adaptation, GAN, evaluator) supplies a step function and an end-of-epoch
function; the loop owns time (epochs, steps, progress, timing). Both trainers therefore
stop, resume and report in the same way.
"""

from __future__ import annotations

import dataclasses
import fcntl
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import torch

from advlab.errors import AdvlabError, DivergedError
from advlab.runs.progress import progress
from advlab.runs.rundir import RunDir

CHECKPOINT = "last.pt"
MARKER = ".advlab-run"  # written into every run directory: what made it
LOCK = ".lock"


def set_threads(threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)


def open_run(path: str | Path, resume: bool, record: str, kind: str) -> RunDir:
    """The run directory of an `advlab KIND` run, refusing anything that is not one.

    A folder is used only if it is new, empty, or advlab's own: marked by MARKER, or (runs
    from before the marker) holding a checkpoint or `record`. Anything else holds a user's
    files, which a run must never overwrite. Without --resume, a folder that already holds a
    run (a checkpoint, or `record`, the file a started run writes first) is refused too.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise AdvlabError(f"--out {path} exists and is not a folder")
    marker = path / MARKER
    refuse_users_folder(path, {MARKER, CHECKPOINT, record})
    made_by = marker.read_text().strip() if marker.exists() else kind
    if made_by != kind:
        raise AdvlabError(f"{path} holds an advlab {made_by} run, not an advlab {kind} run; choose another --out")
    run = RunDir(path)
    run.lock = _lock(run)
    weakref.finalize(
        run, run.lock.close
    )  # released with the RunDir (or at exit), never left to the garbage collector's warning
    if not resume and (run.file(CHECKPOINT).exists() or run.file(record).exists()):
        raise AdvlabError(f"{run.path} already holds a run; pass --resume to continue it, or choose another --out")
    for stale in run.path.glob(".*.tmp"):  # half-written files of a process killed mid-write (we hold the lock)
        stale.unlink(missing_ok=True)
    if not marker.exists():
        run.write_text(MARKER, kind + "\n")
    return run


def refuse_users_folder(path: Path, ours: set[str]) -> None:
    """An --out folder must be new, empty (or hold only a lock: what a command killed at its
    very start leaves), or hold one of `ours`, the files that mark it advlab's own. Anything
    else holds a user's files, which advlab never writes beside: one line, nothing changed."""
    entries = {p.name for p in path.iterdir()} if path.is_dir() else set()
    if entries <= {LOCK} or entries & ours:
        return
    raise AdvlabError(
        f"--out {path} holds files advlab did not write; give a new or empty folder (nothing was changed)"
    )


def training_now(path: str | Path) -> bool:
    """Whether an advlab process holds the run directory's lock right now (is training in it):
    a non-blocking try, released at once. A folder without a lock file is not training."""
    lock = Path(path) / LOCK
    if not lock.is_file():
        return False
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _lock(run: RunDir) -> IO:
    """An exclusive lock on the run directory for this process's lifetime: two processes can
    never train into one run. The kernel drops it when the process ends, however it ends."""
    handle = open(run.file(LOCK), "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AdvlabError(
            f"another advlab process is training in {run.path} right now; wait for it or stop it first"
        ) from None
    return handle


# options that cannot change what a run computes, and --epochs (a run may be extended)
FREE_ON_RESUME = ("threads", "device", "data_dir", "out", "epochs")


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def saved_options(run_dir: Path, read: Callable[[Path], dict[str, Any]]) -> dict[str, Any] | None:
    """The options `read` finds in the config.yaml of the advlab run in `run_dir`: what a
    --resume starts from, so that a user names only what changes. None where there is no
    such run (a folder of user files is never read). Its `out` is left out: the run is where
    it was found now."""
    config = run_dir / "config.yaml"
    if not config.is_file() or not ((run_dir / MARKER).exists() or (run_dir / CHECKPOINT).exists()):
        return None
    return {k: v for k, v in read(config).items() if k != "out"}


def check_resume(run: RunDir, saved: Any, new: Any, epochs_done: int, by_content: tuple[str, ...] = ()) -> None:
    """--resume continues the run that is there, as it was started: an option that would
    change it is an error naming it (the run's config.yaml and metrics stay its own).
    `--epochs` may grow, to extend a finished or stopped run, never below what is done.
    `saved` is the run's config.yaml (None: there is none); options in `by_content` (the
    data) are compared by the checkpoint's fingerprints instead of their path strings."""
    if saved is not None:
        before, after = dataclasses.asdict(saved), dataclasses.asdict(new)
        changed = [
            f"{flag(k)} {before.get(k)!r} -> {v!r}"
            for k, v in after.items()
            if k not in FREE_ON_RESUME + by_content and before.get(k) != v
        ]
        if changed:
            raise AdvlabError(
                f"--resume continues the run in {run.path} as it was started, but these options differ from its "
                f"config.yaml: {'; '.join(changed)} (start a new run with another --out)"
            )
    if new.epochs < epochs_done:
        raise AdvlabError(
            f"{run.path} has done {epochs_done} epochs; --epochs {new.epochs} would undo them "
            "(--epochs may only grow on --resume)"
        )


def identity(options: Mapping[str, Any], data: Mapping[str, str]) -> dict[str, Any]:
    """What a run computes from, written into each of its checkpoints: its options less
    FREE_ON_RESUME and less the data's names, and the content fingerprints of the data
    (option -> fingerprint) standing for those names."""
    return {
        "options": {k: v for k, v in options.items() if k not in FREE_ON_RESUME and k not in data},
        "data": dict(data),
    }


def check_identity(run: RunDir, saved: Mapping[str, Any], now: Mapping[str, Any], names: Mapping[str, Any]) -> None:
    """A checkpoint continues only the run that wrote it: the same options (those both
    identities know: a newer advlab may add some) and the same data content. `names` gives
    each data option's value now, for the message."""
    before, after = saved["options"], now["options"]
    changed = [f"{flag(k)} {before[k]!r} -> {after[k]!r}" for k in after if k in before and before[k] != after[k]]
    changed += [
        f"{flag(k)} {names[k]!r} holds other images than the run's (fingerprint {now['data'][k]}, the run's {fp})"
        for k, fp in saved["data"].items()
        if k in now["data"] and now["data"][k] != fp
    ]
    if changed:
        raise AdvlabError(
            f"{CHECKPOINT} in {run.path} was made by another run: {'; '.join(changed)} "
            "(nothing was changed; start a new run with another --out)"
        )


class NonFiniteLoss(ArithmeticError):
    """Raised by a training step whose loss is NaN or infinite, before any weight changes."""

    def __init__(self, value: float, name: str = "loss"):
        super().__init__(f"{name} became {value}")
        self.value, self.name = value, name


def check_finite(loss: torch.Tensor, name: str = "loss") -> None:
    """Stop before a non-finite loss reaches the weights (the last checkpoint stays good)."""
    if not torch.isfinite(loss).all():
        raise NonFiniteLoss(loss.detach().flatten()[0].item() if loss.numel() == 1 else float("nan"), name)


def diverged(error: NonFiniteLoss, where: str, run: RunDir, epochs_done: int) -> DivergedError:
    kept = (
        f"the last good checkpoint (epoch {epochs_done}) is kept in {run.path}"
        if epochs_done
        else f"no epoch had finished, so no checkpoint was written in {run.path}"
    )
    return DivergedError(f"{error} at {where}; stopped, {kept}")


StepFn = Callable[[int, int], Mapping[str, float] | None]


def run_epochs(
    start_epoch: int,
    epochs: int,
    steps: int,
    step: StepFn,
    end_epoch: Callable[[int, float], None],
    quiet: bool,
    begin: Callable[[int], None] | None = None,
    images_per_step: int = 0,
) -> None:
    """Epochs start_epoch+1 .. epochs of `steps` steps each, with a progress bar.

    `begin(epoch)` prepares an epoch (outside its timing); `step(epoch, step)` trains one
    step and may return running values for the bar; `end_epoch(epoch, seconds)` evaluates,
    checkpoints and logs. An exception closes the bar first, so its message is not lost.
    """
    for epoch in range(start_epoch, epochs):
        if begin:
            begin(epoch)
        started = time.perf_counter()
        bar = progress(steps, f"epoch {epoch + 1}/{epochs}", quiet, unit="step")
        try:
            for i in range(steps):
                shown = step(epoch, i)
                bar.update(1)
                if shown:
                    bar.set_postfix(
                        shown | {"img/s": f"{bar.n / max(time.perf_counter() - started, 1e-9) * images_per_step:.0f}"}
                        if images_per_step
                        else shown
                    )
        finally:
            bar.close()
        end_epoch(epoch, time.perf_counter() - started)
