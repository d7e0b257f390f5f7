"""Checkpoints written atomically and read without unpickling code."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from advlab.errors import AdvlabError
from advlab.runs.files import atomic_write


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """A crash leaves either the old checkpoint or the new one, never half of one."""
    atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """`torch.load(weights_only=True)`: tensors and plain containers only."""
    path = Path(path)
    if not path.is_file():
        raise AdvlabError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise AdvlabError(f"cannot load checkpoint {path}: corrupt or not an advlab checkpoint ({str(e).splitlines()[0]})") from None
