"""Validators of search-space ranges: each checks a tuple of choices and names the fix.

Spaces check their ranges when they are created, so a typo fails at once with
a `TfnasInputError` instead of deep inside keras-tuner during the search.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

from tfnas.errors import TfnasInputError

Validator = Callable[[str, Any], tuple]


def _as_tuple(name: str, value: Any) -> tuple:
    """Accepts one value or a non-empty list/tuple of values; drops repeats."""
    values = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    if not values:
        raise TfnasInputError(f"{name}={value!r} is empty: give at least one choice, e.g. {name}=(a, b).")
    try:
        return tuple(dict.fromkeys(values))
    except TypeError:
        raise TfnasInputError(f"{name}={value!r}: give a flat tuple of choices, e.g. {name}=(a, b).") from None


def int_choices(low: int = 1, high: int | None = None) -> Validator:
    """Validator for a range of integer choices within [low, high]."""

    def check(name: str, value: Any) -> tuple:
        values = _as_tuple(name, value)
        for v in values:
            if not is_int(v) or v < low or (high is not None and v > high):
                bound = f"between {low} and {high}" if high is not None else f">= {low}"
                raise TfnasInputError(f"{name}={value!r}: every choice must be an integer {bound}; got {v!r}.")
        return tuple(int(v) for v in values)

    return check


def float_choices(low: float, high: float, include_low: bool = True) -> Validator:
    """Validator for a range of float choices within [low, high) (or (low, high))."""

    def check(name: str, value: Any) -> tuple:
        values = _as_tuple(name, value)
        for v in values:
            ok = isinstance(v, numbers.Real) and not isinstance(v, bool)
            if not ok or not ((v >= low if include_low else v > low) and v < high):
                left = "[" if include_low else "("
                raise TfnasInputError(
                    f"{name}={value!r}: every choice must be a number in {left}{low}, {high}); got {v!r}."
                )
        return tuple(float(v) for v in values)

    return check


def bool_choices(name: str, value: Any) -> tuple:
    """Validator for a range of booleans, e.g. (True, False)."""
    values = _as_tuple(name, value)
    for v in values:
        if not isinstance(v, bool):
            raise TfnasInputError(f"{name}={value!r}: choices must be True/False, e.g. {name}=(True, False).")
    return values


def str_choices(allowed: tuple[str, ...]) -> Validator:
    """Validator for a range of strings taken from `allowed`."""

    def check(name: str, value: Any) -> tuple:
        values = _as_tuple(name, value)
        for v in values:
            if v not in allowed:
                raise TfnasInputError(f"{name}={value!r}: {v!r} is not one of {allowed}.")
        return values

    return check


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers, False for bools."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
