"""Progress you can see, that can never stop the work it shows.

Bars (off with `--quiet`) go to stderr so stdout stays one line per epoch. Everything here
only reports: a closed or full stream, or a file another process is half-way through
writing, costs a line or says "unknown"; it never raises into the loop doing the work.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")

# what a report may run into: a stream closed or full, a file half-written, missing or not text
REPORTING_ERRORS = (OSError, ValueError, IndexError, KeyError, TypeError, UnicodeError)


def reported(describe: Callable[[], T], fallback: T) -> T:
    """`describe()`, or `fallback` when working out what to report fails."""
    try:
        return describe()
    except Exception:  # noqa: BLE001 - a report must not stop the work, whatever went wrong in it
        return fallback


def say(line: str, file: Any = None) -> None:
    """print(line, flush=True) for a line that only reports progress: if the stream is gone
    (a closed pipe, a full disk under a log), the line is lost and the work goes on."""
    try:
        print(line, file=file or sys.stdout, flush=True)
    except REPORTING_ERRORS:
        pass


class Bar:
    """A tqdm bar whose drawing can never raise into the loop that updates it."""

    def __init__(self, bar: tqdm):
        self._bar = bar

    @property
    def n(self) -> int:
        return self._bar.n

    def update(self, n: int = 1) -> None:
        reported(lambda: self._bar.update(n), None)

    def set_postfix(self, values: dict[str, str]) -> None:
        reported(lambda: self._bar.set_postfix(values), None)

    def close(self) -> None:
        reported(self._bar.close, None)


def progress(total: int, desc: str, quiet: bool, unit: str = "step") -> Bar:
    return Bar(
        tqdm(
            total=total,
            desc=desc,
            unit=unit,
            disable=quiet,
            leave=False,
            file=sys.stderr,
            dynamic_ncols=True,
            mininterval=0.5,
        )
    )
