"""Checks of keyword arguments by name, with the nearest valid name in the error.

A config file's `oracle:`, `reward:` and `space:` sections and
`tfnas.search(oracle={"name": ..., ...})` pass keyword arguments to a class
the user picked by name; a misspelt one is reported with its key path and the
closest name the class takes, before anything is trained.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from tfnas.errors import TfnasInputError


def unknown_key(key_path: str, valid: Iterable[str], where: str) -> TfnasInputError:
    """`Unknown key 'a.b' in WHERE; did you mean 'a.c'?` (or the valid keys when none is close)."""
    valid = list(valid)
    close = difflib.get_close_matches(key_path, valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f". Valid keys: {', '.join(valid)}"
    return TfnasInputError(f"Unknown key {key_path!r} in {where}{hint}")


def accepted_arguments(cls: type) -> list[str]:
    """The keyword arguments a class's constructor takes, its base classes' included."""
    parameters: dict[str, inspect.Parameter] = {}
    for klass in reversed(cls.__mro__):
        if "__init__" in vars(klass) and klass is not object:
            parameters.update(inspect.signature(vars(klass)["__init__"]).parameters)
    return [n for n, p in parameters.items() if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


def check_arguments(cls: type, kwargs: Mapping[str, Any], section: str, where: str = "the arguments") -> None:
    """Raises `TfnasInputError` for the first argument `cls` does not take, named `section.key`."""
    names = accepted_arguments(cls)
    for key in kwargs:
        if key not in names:
            raise unknown_key(f"{section}.{key}", [f"{section}.{n}" for n in names], where)
