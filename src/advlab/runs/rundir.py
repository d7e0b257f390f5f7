"""A run directory: resolved config, per-epoch metrics (JSON lines), summary, checkpoints."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from advlab.errors import AdvlabError
from advlab.runs.files import atomic_write


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.lock = None  # the open lock file while a run trains here (advlab.runs.engine.open_run)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.path, prefix=".write-test-")
            probe.close()
        except OSError as e:
            raise AdvlabError(f"cannot write to output folder {self.path}: {e.strerror or e}") from None

    def file(self, name: str) -> Path:
        return self.path / name

    def write_text(self, name: str, text: str) -> None:
        """Atomic replace, so a reader never sees half a file."""
        atomic_write(self.file(name), text)

    def write_json(self, name: str, data: Any) -> None:
        self.write_text(name, json.dumps(data, indent=2) + "\n")

    def append_jsonl(self, name: str, record: dict[str, Any]) -> None:
        with open(self.file(name), "a") as f:
            f.write(json.dumps(record) + "\n")

    def rewrite_jsonl(self, name: str, records: list[dict[str, Any]]) -> None:
        self.write_text(name, "".join(json.dumps(r) + "\n" for r in records))


class MutedRun(RunDir):
    """The run directory as a rank other than 0 of a multi-process run sees it: it reads
    (the checkpoint to resume from) and writes nothing; rank 0 keeps the record."""

    def __init__(self, path: str | Path):
        self.path, self.lock = Path(path), None

    def write_text(self, name: str, text: str) -> None:
        pass

    def append_jsonl(self, name: str, record: dict[str, Any]) -> None:
        pass
