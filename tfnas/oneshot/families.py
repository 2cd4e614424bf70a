"""The registry of the families a supernet covers: `FAMILIES`, and `family_of`, the one place a space's is looked up.

A new family (a `tfnas.oneshot.family.Family` subclass in its own module)
is added to `FAMILIES` here, and its supernet to
`tfnas.oneshot.supernet.SUPERNETS`.
"""

from __future__ import annotations

from typing import Any

from tfnas.errors import TfnasInputError
from tfnas.oneshot.dscnn1d import DSCNN1DFamily
from tfnas.oneshot.family import Family
from tfnas.oneshot.mobilenet import MobileNetFamily

__all__ = ["COVERED", "FAMILIES", "covers", "family_of"]

# Every family, the first whose `space_type` a space is an instance of being its own.
FAMILIES: tuple[Family, ...] = (DSCNN1DFamily(), MobileNetFamily())

# The spaces a supernet covers, as `tfnas.search` names them (for error messages).
COVERED = "space='dscnn1d', 'mobilenet' or 'dscnn2d' (DSCNN1DSpace, MobileNetSpace, DSCNN2DSpace)"


def covers(space: Any) -> bool:
    """Whether a supernet covers `space` (an instance of a registered family's space type)."""
    return any(isinstance(space, family.space_type) for family in FAMILIES)


def family_of(space: Any) -> Family:
    """The family whose supernet covers `space`.

    Raises:
        TfnasInputError: No supernet covers the space.
    """
    for family in FAMILIES:
        if isinstance(space, family.space_type):
            return family
    raise TfnasInputError(f"the one-shot supernet covers {COVERED}; received: {type(space).__name__}.")
