"""Checkpoints written atomically and read without unpickling code."""

from __future__ import annotations

import errno
import pickle
import shutil
import zipfile
from pathlib import Path
from typing import Any

import torch

from advlab.errors import AdvlabError
from advlab.runs.files import atomic_write


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """A crash leaves either the old checkpoint or the new one, never half of one; a write
    that fails (a full disk) is one line naming the file, and the old checkpoint stays."""
    path = Path(path)
    try:
        atomic_write(path, lambda f: torch.save(state, f))
    except (OSError, RuntimeError) as e:  # torch reports a full disk as "[enforce fail at inline_container.cc...]"
        full = getattr(e, "errno", None) == errno.ENOSPC or _free_bytes(path.parent) < FULL_DISK_BYTES
        reason = "no space left on device" if full else _first_line(e)
        kept = "the previous checkpoint is kept" if path.exists() else "no earlier checkpoint exists"
        raise AdvlabError(f"cannot write checkpoint {path}: {reason}; {kept}") from None


FULL_DISK_BYTES = 1 << 20


def _free_bytes(folder: Path) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 1 << 62


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """`torch.load(weights_only=True)`: tensors and plain containers only."""
    path = Path(path)
    if not path.is_file():
        raise AdvlabError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise AdvlabError(
            f"cannot load checkpoint {path}: corrupt or not an advlab checkpoint ({_first_line(e)})"
        ) from None
