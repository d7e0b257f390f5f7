"""README's "Use from Python" example, run as it is written there: a network and data of the
user's own, trained, loaded, evaluated and exported through the Python API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example() -> str:
    section = README.read_text().split("## Use from Python", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "README's Use from Python section has no python block"
    return found.group(1)


def test_the_readme_example_runs_as_written(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(readme_example())
    env = {**os.environ, "ADVLAB_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "runs" / "mine" / "summary.json").is_file() and (tmp_path / "mine.onnx").is_file()
    accuracy = float(re.search(r"target accuracy ([\d.]+)", result.stdout).group(1))
    assert accuracy > 0.5, result.stdout
