"""Configuration as plain dataclasses: command-line options and YAML files from one definition.

Each field carries its help text in `metadata["help"]` (and optional `choices`). Values
are resolved as defaults < a run's own record (on --resume) < YAML file (`--config`) <
command line; unknown YAML keys are an error, and the dataclass's `validate()` checks
every value at the boundary.
"""

from __future__ import annotations

import argparse
import dataclasses
import reprlib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from advlab.errors import ConfigError

T = TypeVar("T")

SHOWN = 80  # characters of a value an error message shows
_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = SHOWN


def shown(value: Any) -> str:
    """A value's repr for an error message, cut to SHOWN characters: a message is one line,
    never the whole of a huge value (reprlib never builds the whole repr either)."""
    text = _repr.repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


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
        raise ConfigError(f"config key {name!r} must be {tp.__name__}, got {shown(value)}")
    return value


class _AliasError(Exception):
    def __init__(self, mark):
        self.mark = mark


class _NoAliases(yaml.SafeLoader):
    """yaml.SafeLoader without anchors and aliases: a few lines of nested aliases expand to
    gigabytes (a 'billion laughs'), and no option needs them."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _AliasError(event.start_mark)
        return super().compose_node(parent, index)


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = yaml.load(path.read_text(), Loader=_NoAliases) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except _AliasError as e:
        raise ConfigError(
            f"config file {path} line {e.mark.line + 1}, column {e.mark.column + 1}: "
            "YAML anchors and aliases (&name, *name) are not accepted; write the value out"
        ) from None
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


def file_values(cls: type, data: dict[str, Any], where: str | Path) -> dict[str, Any]:
    """The options a YAML mapping read from `where` sets, as field name: typed value."""
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in names:
            raise ConfigError(f"unknown config key {shown(key)} in {where}; known keys: {', '.join(sorted(names))}")
        values[name] = _coerce(cls, name, value)
    return values


def merge(
    cls: type, cli_values: dict[str, Any], config_file: str | Path | None = None, base: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The options set by `base` (typed values, e.g. a run's config.yaml) < YAML < command line."""
    names = {f.name for f in dataclasses.fields(cls)}
    values = dict(base or {})
    if config_file:
        values.update(file_values(cls, load_yaml(config_file), config_file))
    values.update({k: v for k, v in cli_values.items() if k in names})
    return values


def resolve(
    cls: type[T], cli_values: dict[str, Any], config_file: str | Path | None = None, base: dict[str, Any] | None = None
) -> T:
    """defaults < the choice's own defaults < base < YAML < command line, then `validate()`.

    The middle layer is for a class whose choices bring defaults of their own (a method's
    optimiser, say): `cls.chosen_defaults(values)` gives them, from the values as merged."""
    values = merge(cls, cli_values, config_file, base)
    chosen = getattr(cls, "chosen_defaults", None)
    own = chosen(values) if chosen else {}
    if own:
        values = merge(cls, cli_values, config_file, {**own, **(base or {})})
    cfg = cls(**values)
    cfg.validate()
    return cfg


def to_yaml(values: dict[str, Any]) -> str:
    return yaml.safe_dump(values, sort_keys=False)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)
