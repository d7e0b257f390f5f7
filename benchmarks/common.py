"""What every benchmark script shares: spread over seeds, machine facts, writing results."""

from __future__ import annotations

import json
import os
import platform
import statistics
from pathlib import Path
from typing import Callable

import torch


def mean_std(values: list) -> dict | None:
    """{mean, std (sample), values}; None when any value is missing."""
    if any(v is None for v in values):
        return None
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0, "values": values}


def machine() -> dict:
    return {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def write_report(report: dict, out: Path, markdown: Callable[[dict], str]) -> None:
    """<out>.json and <out>.md, and the table on stdout."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
