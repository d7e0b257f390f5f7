"""What every benchmark script shares: spread over seeds, machine facts, writing results."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from advlab.metrics.spread import mean_std  # noqa: F401 (re-exported for the scripts)
from advlab.report.provenance import machine  # noqa: F401


def write_report(report: dict, out: Path, markdown: Callable[[dict], str]) -> None:
    """<out>.json and <out>.md, and the table on stdout."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
