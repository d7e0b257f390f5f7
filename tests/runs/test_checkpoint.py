"""Checkpoints: bad files and full disks are one line, and the old checkpoint survives."""

import pytest
import torch

import advlab.runs.checkpoint as checkpoint
from advlab.errors import AdvlabError
from advlab.runs.checkpoint import load_checkpoint, save_checkpoint


def test_zero_byte_checkpoint_is_one_line(tmp_path):
    """It crashed inside the loader's own error handler (an exception with no message)."""
    (tmp_path / "last.pt").write_bytes(b"")
    with pytest.raises(AdvlabError, match="cannot load checkpoint"):
        load_checkpoint(tmp_path / "last.pt")


def test_full_disk_says_so_and_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    save_checkpoint({"epoch": 1}, tmp_path / "last.pt")
    good = (tmp_path / "last.pt").read_bytes()

    def full_disk(obj, f):
        f.write(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 123 vs 45")

    monkeypatch.setattr(checkpoint.torch, "save", full_disk)
    monkeypatch.setattr(checkpoint, "_free_bytes", lambda folder: 0)
    with pytest.raises(AdvlabError, match="no space left on device; the previous checkpoint is kept"):
        save_checkpoint({"epoch": 2}, tmp_path / "last.pt")
    assert (tmp_path / "last.pt").read_bytes() == good and [p.name for p in tmp_path.iterdir()] == ["last.pt"]
    assert torch.load(tmp_path / "last.pt", weights_only=True) == {"epoch": 1}
