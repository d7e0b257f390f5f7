"""Configuration as plain dataclasses: command-line options and YAML files from one definition.

Each field carries its help text in `metadata["help"]` (and optional `choices`). Values
are resolved as defaults < YAML file (`--config`) < command line; unknown YAML keys are
an error, and the dataclass's `validate()` checks every value at the boundary.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from advlab.errors import ConfigError

T = TypeVar("T")


def option(default: Any, help: str, choices: tuple | None = None) -> Any:
    """A dataclass field with its command-line help."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices})


def _base_type(tp: Any) -> tuple[type, bool]:
    """(the concrete type, whether None is allowed) for `X` or `X | None`."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0], True
    return tp, False


def add_options(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    """Add one --option per field of dataclass `cls`; defaults are left out so that only
    values typed on the command line override the YAML file."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        tp, _ = _base_type(hints[f.name])
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        if "(default:" not in help_text:  # a help text that explains its own default keeps only that
            help_text += f" (default: {f.default})"
        help_text = help_text.replace("%", "%%")
        if tp is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=help_text)
        else:
            choices = f.metadata.get("choices")
            metavar = "{" + ",".join(choices) + "}" if choices else f.name.upper()
            # choices are checked by validate(), so a wrong one gets the same one-line error as in YAML
            parser.add_argument(flag, type=tp, default=argparse.SUPPRESS, metavar=metavar, help=help_text)


def _coerce(cls: type, name: str, value: Any) -> Any:
    tp, optional = _base_type(typing.get_type_hints(cls)[name])
    if value is None:
        if optional:
            return None
        raise ConfigError(f"config key {name!r} must not be empty")
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string; a user means the number
        try:
            return float(value)
        except ValueError:
            pass
    if tp is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(f"config key {name!r} must be {tp.__name__}, got {value!r}")
    return value


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"config file {path}{where}: not valid YAML ({problem})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config file {path}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of option: value")
    return data


def resolve(cls: type[T], cli_values: dict[str, Any], config_file: str | Path | None = None) -> T:
    """defaults < YAML < command line, then `validate()`."""
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    if config_file:
        for key, value in load_yaml(config_file).items():
            name = str(key).replace("-", "_")
            if name not in names:
                raise ConfigError(
                    f"unknown config key {key!r} in {config_file}; known keys: {', '.join(sorted(names))}"
                )
            values[name] = _coerce(cls, name, value)
    values.update({k: v for k, v in cli_values.items() if k in names})
    cfg = cls(**values)
    cfg.validate()
    return cfg


def to_yaml(cfg: Any) -> str:
    return yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)
