"""Methods and backbones from outside advlab: registration, and the packages that declare them.

A package installed beside advlab adds a method or a backbone by naming its class in the entry-point
group `advlab.methods` or `advlab.backbones`; a Python user registers a class of their own with
`advlab.methods.register` or `advlab.backbones.register`. Both end in `add` below, which checks the
class once, here, so that a bad one is refused with one sentence at registration rather than failing
later inside argparse, a dataclass or a checkpoint.

The installed plugins are loaded once, when either registry is first read (`Registry`): the
command-line parser, config resolution and a run's checkpoint all read one, so every command sees
them, while `import advlab` and a plugin's own `import advlab.methods` stay free of that work (and of
an import cycle). A plugin that fails to import or to register is one warning line on stderr and
advlab goes on without it: one broken package must not take every command down.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from importlib.metadata import EntryPoint, entry_points
from typing import Any

# backbones first: a method's options are checked against every backbone's
GROUPS = ("advlab.backbones", "advlab.methods")
NAME = re.compile(r"[a-z][a-z0-9_]*\Z")  # a registry name, an option name: lowercase, identifier-like

_loaded = False


def load() -> None:
    """Register every installed plugin's class, once per process."""
    global _loaded
    if _loaded:
        return
    _loaded = True  # first: registering reads the registries, which would come back here
    for group in GROUPS:
        for entry in entry_points(group=group):
            _load_one(group, entry)


def _load_one(group: str, entry: EntryPoint) -> None:
    from advlab import backbones, methods

    register = backbones.register if group == "advlab.backbones" else methods.register
    try:
        register(entry.load())
    except Exception as e:  # any failure of someone else's package: said, and left out
        reason = (str(e).strip().splitlines() or [""])[0]
        print(
            f"advlab: warning: plugin {entry.name} = {entry.value} ({group}) left out: {type(e).__name__}: {reason}",
            file=sys.stderr,
        )


class Registry(dict):
    """A registry, name -> class, that loads the installed plugins before it is first read."""

    def __getitem__(self, name: str) -> Any:
        load()
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        load()
        return super().__contains__(name)

    def __iter__(self):
        load()
        return super().__iter__()

    def __len__(self) -> int:
        load()
        return super().__len__()

    def get(self, name: str, default: Any = None) -> Any:
        load()
        return super().get(name, default)

    def keys(self):
        load()
        return super().keys()

    def values(self):
        load()
        return super().values()

    def items(self):
        load()
        return super().items()


def unknown(kind: str, name: str) -> str:
    """Why a run's method or backbone cannot be had here, and how to get it."""
    return (
        f"unknown {kind} {name!r}: install the package that provides it (entry-point group advlab.{kind}s) "
        f"or register its class first with advlab.{kind}s.register"
    )


def add(registry: Registry, base: type, kind: str, cls: Any) -> Any:
    """Register `cls` as a `kind` (a subclass of `base`) and return it; the same class again is a no-op."""
    _check_class(base, kind, cls)
    if registry.get(cls.name) is cls:
        return cls
    if cls.name in registry:
        taken = registry[cls.name]
        raise ValueError(
            f"{kind} name {cls.name!r} of {_said(cls)} is taken by {_said(taken)}; give the class a name of its own"
        )
    _check_options(registry, kind, cls)
    registry[cls.name] = cls
    return cls


def _said(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _check_class(base: type, kind: str, cls: Any) -> None:
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise TypeError(f"a {kind} must be a subclass of {_said(base)}, got {cls!r}")
    name = getattr(cls, "name", None)
    if not isinstance(name, str):
        raise TypeError(f"{kind} {_said(cls)} must set `name` (a lowercase identifier such as 'my_{kind}')")
    if not NAME.match(name):
        raise ValueError(f"{kind} name {name!r} of {_said(cls)} must be lowercase: letters, digits, _ (a letter first)")
    if not isinstance(getattr(cls, "about", None), str):
        raise TypeError(f"{kind} {_said(cls)} must set `about`, its one-line --help text")


def _check_options(registry: Registry, kind: str, cls: type) -> None:
    """Each option a (type, advlab.config.option(...)) pair named `<name>_...`, and no option of
    advlab adapt already: the prefix keeps a new one from meeting a later one, the check from
    meeting what is there. An option inherited from a registered base class is that class's."""
    from advlab.train.config import taken_options

    if not isinstance(cls.options, dict):
        raise TypeError(f"options of {kind} {cls.name} must be a dict, name -> (type, advlab.config.option(...))")
    inherited = {
        option
        for parent in cls.__mro__[1:]
        if registry.get(getattr(parent, "name", None)) is parent
        for option, declared in parent.options.items()
        if cls.options.get(option) is declared
    }
    taken = taken_options()
    for option, declared in cls.options.items():
        if option in inherited:
            continue
        if not (
            isinstance(declared, tuple)
            and len(declared) == 2
            and isinstance(declared[0], type)
            and isinstance(declared[1], dataclasses.Field)
            and declared[1].default is not dataclasses.MISSING
        ):
            raise TypeError(
                f"option {option!r} of {kind} {cls.name} must be (type, advlab.config.option(default, help))"
            )
        if not (isinstance(option, str) and NAME.match(option) and option.startswith(f"{cls.name}_")):
            raise ValueError(f"option {option!r} of {kind} {cls.name} must be named {cls.name}_<lowercase name>")
        if option in taken:
            raise ValueError(f"option {option!r} of {kind} {cls.name} is already an option of advlab adapt")
