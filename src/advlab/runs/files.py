"""The one atomic-write helper every file of a run goes through.

A reader (a resumed run, a report, a second process) must see either the old file or the
new one, never half of one: write a temporary file beside the target, fsync it, then
rename it over the target (rename within one folder is atomic on POSIX).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None] | bytes | str) -> None:
    """Replace `path` atomically with what `write` puts into a binary file (or with the
    given bytes / text). A failure leaves the old file as it was and no temporary behind."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(write, str):
                f.write(write.encode())
            elif isinstance(write, bytes):
                f.write(write)
            else:
                write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def complete_lines(path: str | Path) -> list[str]:
    """The non-empty lines of a file that another process may be appending to right now,
    less a last line still being written: a line counts once its newline is there (every
    line advlab appends ends with one). Bytes that are not UTF-8 are replaced, not raised."""
    lines = Path(path).read_bytes().decode("utf-8", errors="replace").split("\n")
    return [line for line in lines[:-1] if line.strip()]
