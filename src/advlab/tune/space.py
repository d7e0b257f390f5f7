"""A method's search space (its `search_space`, declared in its own file) as Optuna suggestions.

Parameters are named `<method>.<option>` in the study: one study holds every method, and a
method's trade_off range is its own, never mixed with another method's in TPE's model of it.
"""

from __future__ import annotations

from typing import Any

from advlab.methods import METHODS


def suggest(trial: Any, method: str) -> dict[str, Any]:
    """The option values one Optuna trial samples from `method`'s space, by option name."""
    values: dict[str, Any] = {}
    for name, spec in METHODS[method].search_space.items():
        key = f"{method}.{name}"
        if isinstance(spec, list):
            values[name] = trial.suggest_categorical(key, spec)
            continue
        kind, low, high, log = spec
        suggest_number = trial.suggest_int if kind == "int" else trial.suggest_float
        values[name] = suggest_number(key, low, high, log=log)
    return values


def options_of(params: dict[str, Any]) -> dict[str, Any]:
    """A finished trial's Optuna params (`method` and `<method>.<option>`) as adapt options."""
    return {"method": params["method"]} | {
        key.split(".", 1)[1]: value for key, value in params.items() if key.startswith(params["method"] + ".")
    }
