"""Spread over seeds: every compared number is a mean with its standard deviation."""

from __future__ import annotations

import statistics


def mean_std(values: list) -> dict | None:
    """{mean, std (sample), values}; None when there is no value or any is missing."""
    if not values or any(v is None for v in values):
        return None
    return {
        "mean": statistics.mean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "values": values,
    }


def fmt(stat: dict | None, digits: int = 4) -> str:
    """'0.8836 ± 0.0090 (n=3)', a single value as itself, '–' when missing."""
    if stat is None:
        return "–"
    if len(stat["values"]) == 1:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"
