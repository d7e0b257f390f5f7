"""A study's runs as processes forked from one server that has already imported torch.

Each run of a study is a process of its own (its own threads, signals, exit status, log;
killed with its study), and a fresh interpreter spends seconds before its first step:
importing torch, torch._dynamo (which torch.optim pulls in at the first optimizer call) and
scikit-learn (the validators). On small data, the smoke study's runs and the first epochs of
a quick study, that is most of a run's time. The standard library's forkserver start method
keeps one server process with those modules imported and forks it for each run, so a run
starts in milliseconds and is still a separate process. The server imports only: it runs no
tensor operation, so no thread pool exists yet when it forks (OpenMP's is not fork-safe),
and each run sets its own thread count as a fresh process does.

A run's process shows its command line to `ps` (setproctitle where installed), and its
environment and working directory are the study's at the moment it starts, as a
`subprocess.Popen` child's would be.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from multiprocessing.connection import wait
from pathlib import Path

# what a run imports before it trains; the server imports them once (a missing one is skipped)
PRELOAD = [
    "advlab.report.preloaded",
    "torch",
    "torch._dynamo",
    "torch.optim",
    "sklearn.cluster",
    "sklearn.decomposition",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.preprocessing",
    "scipy.stats",
    "advlab.cli",
    "advlab.train.adapt",
    "advlab.gan.train",
]
_context = None
# multiprocessing reads a child's exit status from a pipe, once; Process.start() also polls the
# other children, so a start in one thread and a join in another could both read one status and
# one of them see 255. Every start, status read and signal goes through this lock.
_lock = threading.Lock()


def available() -> bool:
    """The forkserver start method exists on this platform (Linux, macOS)."""
    return "forkserver" in multiprocessing.get_all_start_methods()


def _forkserver():
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


class RunProcess:
    """One run's process, with the part of `subprocess.Popen`'s interface a study uses."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self._process = process
        self.pid = process.pid

    def terminate(self) -> None:
        """SIGTERM: the run stops in an orderly way at its last checkpoint."""
        self.send_signal(signal.SIGTERM)

    def send_signal(self, sig: int) -> None:
        with _lock:
            if self._process.exitcode is None:
                os.kill(self.pid, sig)

    def poll(self) -> int | None:
        """Its exit status if it has ended, else None."""
        with _lock:
            return self._process.exitcode

    def wait(self) -> int:
        """Its exit status as Popen gives it (-N for a signal N)."""
        wait([self._process.sentinel])  # ready once it has ended; reads nothing
        with _lock:
            self._process.join()
            return self._process.exitcode


def start(argv: list[str], stdout: Path, stderr: Path) -> RunProcess:
    """`advlab ARGV...` in a process forked from the preloaded server, its stdout appended
    to `stdout` and its stderr written to `stderr`."""
    process = _forkserver().Process(
        target=_run,
        args=(list(argv), str(stdout), str(stderr), dict(os.environ), os.getcwd(), os.getpid()),
        daemon=False,
    )
    with _lock:
        process.start()
    return RunProcess(process)


def _run(argv: list[str], stdout: str, stderr: str, environ: dict[str, str], cwd: str, study: int) -> None:
    """In the forked process: the study's environment and folder, the log files as fds 1
    and 2, then the command as `python -m advlab.cli` would run it."""
    _end_with_study(study)
    _show_command(argv)  # first: setproctitle keeps its title in the memory the environment starts in
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    sys.__stdout__.flush()
    sys.__stderr__.flush()
    for fd, path, flags in ((1, stdout, os.O_APPEND), (2, stderr, os.O_TRUNC)):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | flags, 0o644)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdout = sys.__stdout__ = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 (fd 1 itself)
    sys.stderr = sys.__stderr__ = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.argv = ["advlab", *argv]
    from advlab.cli import main

    sys.exit(main(argv))


def _end_with_study(study: int) -> None:
    """SIGTERM to this run when the study process ends, even by SIGKILL, which no handler of
    the study's can see: the run then stops at its last checkpoint instead of going on as an
    orphan beside the next invocation's run of the same directory. (The server cannot tell:
    every run it forked holds the study's end of the pipe it watches.) A thread waits on the
    study's pidfd, or polls for it once a second where there is none."""
    try:
        handle = os.pidfd_open(study)
    except ProcessLookupError:  # it ended before this run began
        os.kill(os.getpid(), signal.SIGTERM)
        return
    except (AttributeError, OSError):
        handle = None

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])
        else:
            while _alive(study):
                time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="advlab-end-with-study", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _show_command(argv: list[str]) -> None:
    try:
        import setproctitle
    except ImportError:
        return
    setproctitle.setproctitle(" ".join([sys.executable, "-m", "advlab.cli", *argv]))
