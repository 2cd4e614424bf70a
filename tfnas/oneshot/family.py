"""`Family`: what the one-shot package knows about one family of spaces, whatever supernet holds its weights.

A supernet covers the spaces of one family: their hps, how hp values select
an architecture, which way each hp moves the compute and which ranges form
the frame (`tfnas.oneshot.frame`). Every other module of the package
(sandwich training, extraction, ranking, frames) goes through a `Family` and
so works for each family alike. This base imports no other module of the
package; above it, in order: the families (`tfnas.oneshot.dscnn1d` for
`DSCNN1DSpace`, `tfnas.oneshot.mobilenet` for `MobileNetSpace` and its
`DSCNN2DSpace`), their registry (`tfnas.oneshot.families`: `family_of`), the
supernets, and the table from family to supernet (`tfnas.oneshot.supernet`).
"""

from __future__ import annotations

import abc
import dataclasses
import re
from collections.abc import Callable
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any
from typing import ClassVar

import keras_tuner as kt

from tfnas.errors import TfnasInputError

if TYPE_CHECKING:
    from tfnas.spaces import EdgeSpace


@dataclasses.dataclass(frozen=True)
class BaseSubnet:
    """A resolved sub-network of any family: its active hp values; each family adds the layers they select.

    Attributes:
        values: The active hp values (defaults filled in), as the space's `build` would record them.
    """

    values: Mapping[str, Any] = dataclasses.field(hash=False)

    def hyperparameters(self) -> kt.HyperParameters:
        """A `kt.HyperParameters` holding these values, ready for `space.build`."""
        hp = kt.HyperParameters()
        hp.values.update(self.values)
        return hp


class Reader:
    """Reads hp values the way a space's `build` does (the given value, else the default) and keeps what it read.

    Args:
        values: The hp values given (already checked).
        allowed: Every hp's choices, the default first.
    """

    def __init__(self, values: Mapping[str, Any], allowed: Mapping[str, tuple]) -> None:
        self._values, self._allowed = values, allowed
        self.active: dict[str, Any] = {}

    def __call__(self, name: str) -> Any:
        self.active[name] = self._values[name] if name in self._values else self._allowed[name][0]
        return self.active[name]


class Family(abc.ABC):
    """One family of spaces: its hps, the architecture values select, the compute order of each hp, its frame.

    Subclasses set `space_type`, `frame_ranges` and `ORDER`, and implement
    `choices`, `select` and `frames`; `resolve` and `extreme` are shared.
    A new family is registered in `tfnas.oneshot.families.FAMILIES`, and its
    supernet in `tfnas.oneshot.supernet.SUPERNETS`.

    Attributes:
        space_type: The space class the family covers (subclasses included).
        frame_ranges: The ranges a frame fixes (strides, pooling: the resolution switches).
        ORDER: Per hp, with any `block{i}_` / `stage{i}_` prefix dropped: `max` when a larger
            value costs more compute, `min` when a smaller one does. Hps not in it are switches
            (or training hps) that keep their default in `extreme`.
    """

    space_type: ClassVar[type]
    frame_ranges: ClassVar[tuple[str, ...]]
    ORDER: ClassVar[dict[str, Callable]] = {}

    @abc.abstractmethod
    def choices(self, space: EdgeSpace) -> dict[str, tuple]:
        """Every hp the space can register, with its allowed values (the first is the default)."""

    @abc.abstractmethod
    def select(self, space: EdgeSpace, read: Reader) -> BaseSubnet:
        """The sub-network `read`'s values select, worked out exactly as the space's `_body` builds it."""

    @abc.abstractmethod
    def frames(self, space: EdgeSpace) -> list[dict[str, tuple]]:
        """Every frame of the space (one choice of each frame range), highest resolution first."""

    def resolve(self, space: EdgeSpace, values: Mapping[str, Any]) -> BaseSubnet:
        """Checks `values` against the space's choices and returns the sub-network they select.

        Raises:
            TfnasInputError: An hp the space does not have, or a value that is not one of its choices.
        """
        allowed = self.choices(space)
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise TfnasInputError(f"{type(space).__name__} has no hyperparameter(s) {unknown}; it has {list(allowed)}.")
        for name, value in values.items():
            if not any(_same(value, choice) for choice in allowed[name]):
                raise TfnasInputError(
                    f"{name}={value!r} is not a choice of {type(space).__name__}; "
                    f"allowed values: {list(allowed[name])}."
                )
        return self.select(space, Reader(values, allowed))

    def extreme(self, name: str, options: tuple, end: int) -> Any:
        """The choice of hp `name` with the most (`end` 0) or least (`end` 1) compute; a switch keeps its default."""
        order = self.ORDER.get(re.sub(r"^[a-z]+\d+_", "", name))
        if order is None:
            return options[0]
        return order(options) if end == 0 else (min if order is max else max)(options)


def _same(value: Any, choice: Any) -> bool:
    """Equal values of the same kind (a bool never stands for 1 or 0)."""
    return isinstance(value, bool) == isinstance(choice, bool) and value == choice


def input_shape_of(space: EdgeSpace) -> tuple[int, ...]:
    """The input shape of a configured space (the one-shot package works on configured spaces only).

    Raises:
        TfnasInputError: The space is not configured.
    """
    if space.input_shape is None:
        raise TfnasInputError(_unconfigured(space))
    return space.input_shape


def num_outputs_of(space: EdgeSpace) -> int:
    """The output width of a configured space (the one-shot package works on configured spaces only).

    Raises:
        TfnasInputError: The space is not configured.
    """
    if space.num_outputs is None:
        raise TfnasInputError(_unconfigured(space))
    return space.num_outputs


def _unconfigured(space: EdgeSpace) -> str:
    return (f"{type(space).__name__} is not configured: call space.configure(input_shape, num_outputs, task) "
            f"before the one-shot search; received: {space!r}.")
