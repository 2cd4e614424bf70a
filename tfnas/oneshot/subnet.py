"""Sub-networks of a supernet: the space's own hp values, checked and resolved by the space's family.

A sub-network is named by a dict of the space's hyperparameter values (the
names the space's `build` reads), so one `kt.HyperParameters` describes both
a trial-trained candidate and a sub-network of the supernet. `resolve` checks
the values against the space's choices and works out the architecture they
select exactly as the space's `_body` does (`tfnas.oneshot.dscnn1d` for
`DSCNN1DSpace`, `tfnas.oneshot.mobilenet` for `MobileNetSpace` and
`DSCNN2DSpace`), so the supernet computes what the standalone model built
from the same values does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tfnas.oneshot.dscnn1d import BLOCK_HPS
from tfnas.oneshot.dscnn1d import Block
from tfnas.oneshot.dscnn1d import Subnet
from tfnas.oneshot.dscnn1d import head_lengths
from tfnas.oneshot.families import family_of
from tfnas.oneshot.family import BaseSubnet
from tfnas.spaces import EdgeSpace

__all__ = ["BLOCK_HPS", "BaseSubnet", "Block", "Subnet", "choices", "head_lengths", "resolve"]


def choices(space: EdgeSpace) -> dict[str, tuple]:
    """Every hp the space can register, with its allowed values (the first is the default).

    Raises:
        TfnasInputError: No supernet covers the space.
    """
    return family_of(space).choices(space)


def resolve(space: EdgeSpace, values: Mapping[str, Any]) -> BaseSubnet:
    """Checks `values` against the space and returns the sub-network they select.

    Args:
        space: A configured space a supernet covers (`DSCNN1DSpace`, `MobileNetSpace`, `DSCNN2DSpace`).
        values: Hp values by name; a missing hp takes its default (first
            choice), as in keras-tuner; values of blocks or stages beyond the
            depth chosen are checked but unused.

    Returns:
        The resolved sub-network: a `Subnet` for `DSCNN1DSpace`, a
        `tfnas.oneshot.mobilenet.MobileNetSubnet` for the MobileNet family.

    Raises:
        TfnasInputError: No supernet covers the space, an hp the space does
            not have, or a value that is not one of its choices.
    """
    return family_of(space).resolve(space, values)
