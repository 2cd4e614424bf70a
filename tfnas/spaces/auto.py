"""The family spaces `space="auto"` picks from: one per kind of data, each a `FamilySpace`.

Which families, and why (issue 13's measurements): on small inputs the
simple models win at a given MAC budget (an MLP or one convolution with a
Flatten head on 8x8 digits; a strided Conv1D stack on MNIST-1D), so they sit
beside the depthwise-separable family instead of being left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tfnas.constraints import Constraints
from tfnas.spaces.base import EdgeSpace
from tfnas.spaces.cnn import CNN1DSpace
from tfnas.spaces.cnn import CNN2DSpace
from tfnas.spaces.dscnn1d import DSCNN1DSpace
from tfnas.spaces.dscnn2d import DSCNN2DSpace
from tfnas.spaces.family import FamilySpace
from tfnas.spaces.mlp import MLPSpace
from tfnas.spaces.mobilenet import MobileNetSpace
from tfnas.spaces.scale import phone_ranges
from tfnas.spaces.scale import phone_scale

SMALL_INPUT = 16  # images this small or smaller get stride-1 stems only: every pixel counts


def _mlp() -> MLPSpace:
    return MLPSpace(num_layers=(1, 2), units=(64, 16, 32, 128))


class ImageSpace(FamilySpace):
    """Images (H, W, C): a plain CNN, an MLP on the flattened image, and the MobileNet-style family.

    The MobileNet family's ranges follow the input and the budget: images of
    64 px and more, or above 16 px with `max_macs` of 5M or more, get
    MobileNetV2/V3-style depth and width (`tfnas.spaces.scale.PHONE_RANGES`);
    smaller ones the microcontroller ranges. Pass `members=` to pick the
    families and their ranges yourself (see the README, "Narrowing or
    widening the image space").

    Args:
        input_shape: See `FamilySpace`.
        num_outputs: See `FamilySpace`.
        task: See `FamilySpace`.
        name: See `FamilySpace`.
        **kwargs: `members`, `dropout`, `learning_rate`: See `FamilySpace`.
        constraints: The search's limits (`tfnas.search` passes its own):
            `max_macs` may switch on the phone-scale ranges, and a bound on
            the arena or peak RAM (a microcontroller) leaves out what
            TFLite Micro cannot run.

    Example:
        >>> space = ImageSpace().configure((8, 8, 1), 10, "classification")
        >>> phone = ImageSpace(constraints={"max_macs": 300_000_000}).configure((224, 224, 3), 10)
    """

    space_name = "images"
    input_rank = 3

    def __init__(
        self,
        input_shape: tuple[int, ...] | None = None,
        num_outputs: int | None = None,
        task: str = "classification",
        name: str | None = None,
        *,
        constraints: Constraints | Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.constraints = Constraints.from_any(constraints) if constraints is not None else None
        super().__init__(input_shape, num_outputs, task, name, **kwargs)

    def configure(self, input_shape: tuple[int, ...], num_outputs: int, task: str = "classification") -> ImageSpace:
        space = type(self)(
            input_shape, num_outputs, task, self.name, members=self._given, constraints=self.constraints, **self._ranges
        )
        space.tunable = self.tunable
        return space

    def for_limits(self, constraints: Constraints | None) -> ImageSpace:
        """This space with the search's `constraints`, unless it was given its own."""
        if self.constraints is not None or constraints is None:
            return self
        return type(self)(
            self.input_shape, self.num_outputs, self.task, self.name, members=self._given, constraints=constraints,
            **self._ranges,
        )

    def default_members(self, input_shape: tuple[int, ...] | None) -> dict[str, EdgeSpace]:
        if phone_scale(input_shape, self.constraints):
            mobilenet = MobileNetSpace(**phone_ranges(self.constraints, input_shape))
        else:
            small = input_shape is not None and min(input_shape[:2]) <= SMALL_INPUT
            mobilenet = MobileNetSpace(
                stem_strides=(1,) if small else (1, 2), head=("gap", "flatten"), num_stages=(1, 2), blocks=(1, 2),
                filters=(8, 16, 24, 32),
            )
        return {"cnn": CNN2DSpace(), "mlp": _mlp(), "mobilenet": mobilenet}


class SpectrogramSpace(FamilySpace):
    """Spectrograms and other non-square 2-D inputs (T, F, C): the KWS DS-CNN, a plain CNN and an MLP.

    Example:
        >>> space = SpectrogramSpace().configure((49, 10, 1), 12, "classification")
    """

    space_name = "spectrograms"
    input_rank = 3

    def default_members(self, input_shape: tuple[int, ...] | None) -> dict[str, EdgeSpace]:
        return {"dscnn": DSCNN2DSpace(), "cnn": CNN2DSpace(strides=(2, 1), filters=(8, 16, 32, 64)), "mlp": _mlp()}


class SignalSpace(FamilySpace):
    """Signals (T, C): a plain strided Conv1D stack with a Flatten head, the DS-CNN family and an MLP.

    Example:
        >>> space = SignalSpace().configure((40, 1), 10, "classification")
    """

    space_name = "signals"
    input_rank = 2

    def default_members(self, input_shape: tuple[int, ...] | None) -> dict[str, EdgeSpace]:
        return {"cnn": CNN1DSpace(), "dscnn": DSCNN1DSpace(head=("gap", "flatten")), "mlp": _mlp()}


def auto_space(input_shape: Any) -> type[EdgeSpace] | None:
    """The space `space="auto"` uses for samples of `input_shape`, or None for ranks it has none for.

    Rank 1: `MLPSpace`; rank 2: `SignalSpace`; rank 3: `ImageSpace` when
    height and width are within a factor 2 of each other, else `SpectrogramSpace`.
    """
    shape = tuple(input_shape)
    if len(shape) == 1:
        return MLPSpace
    if len(shape) == 2:
        return SignalSpace
    if len(shape) == 3:
        h, w = shape[0], shape[1]
        return ImageSpace if max(h, w) <= 2 * min(h, w) else SpectrogramSpace
    return None
