"""`get_space`: turns what the user passed as `space=` into a configured keras-tuner HyperModel.

The search calls it once it knows the data, so users can pass a name
("auto", or one of `SPACES`), an `EdgeSpace` (class or instance,
keeping its ranges), their own `kt.HyperModel`, or a plain `build(hp)`
function. `initial_points_of` and `summary_keys_of` read a space's optional
hooks (declared, with their defaults, on `EdgeSpace`); any other HyperModel
gets the defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras_tuner as kt

from tfnas.constraints import Constraints
from tfnas.errors import TfnasInputError
from tfnas.spaces.auto import ImageSpace
from tfnas.spaces.auto import SignalSpace
from tfnas.spaces.auto import SpectrogramSpace
from tfnas.spaces.auto import auto_space
from tfnas.spaces.base import EdgeSpace
from tfnas.spaces.cnn import CNN1DSpace
from tfnas.spaces.cnn import CNN2DSpace
from tfnas.spaces.dscnn1d import DSCNN1DSpace
from tfnas.spaces.dscnn2d import DSCNN2DSpace
from tfnas.spaces.mlp import MLPSpace
from tfnas.spaces.mobilenet import MobileNetSpace
from tfnas.spaces.scale import phone_ranges
from tfnas.spaces.scale import phone_scale

SPACES: dict[str, type[EdgeSpace]] = {
    cls.space_name: cls
    for cls in (
        MLPSpace, DSCNN1DSpace, MobileNetSpace, CNN1DSpace, CNN2DSpace, DSCNN2DSpace,
        ImageSpace, SignalSpace, SpectrogramSpace,
    )
}
"""The spaces by the name `space=` (and a config's `space.name`) takes; `"auto"` picks one by the input's shape."""

_VALID = (
    "space must be 'auto' (picks by input shape: (F,) -> 'mlp', (T, C) -> 'signals', near-square (H, W, C) -> "
    f"'images', other (T, F, C) -> 'spectrograms'), one of {sorted(SPACES)}, an EdgeSpace, a keras_tuner.HyperModel, "
    "or a build(hp) function"
)


class FunctionSpace(kt.HyperModel):
    """Wraps a plain `build(hp) -> compiled model` function as a HyperModel.

    Example:
        >>> space = FunctionSpace(lambda hp: make_model(hp.Int("units", 8, 64)))
    """

    def __init__(self, build_fn: Callable[[kt.HyperParameters], Any], name: str | None = None) -> None:
        super().__init__(name=name or getattr(build_fn, "__name__", None))
        self.build_fn = build_fn

    def build(self, hp: kt.HyperParameters) -> Any:
        """Calls the wrapped function."""
        return self.build_fn(hp)


def get_space(
    space: Any,
    input_shape: tuple[int, ...],
    num_outputs: int,
    task: str = "classification",
    constraints: Constraints | None = None,
) -> kt.HyperModel:
    """Resolves `space` into a HyperModel ready to build models for this data.

    Args:
        space: "auto", a name from `SPACES`, an `EdgeSpace` class or instance,
            any other `kt.HyperModel` (returned as is), or a function
            `build(hp)` returning a compiled model (wrapped in a HyperModel).
        input_shape: Shape of one sample, without the batch axis.
        num_outputs: Number of classes (classification) or output width
            (regression).
        task: "classification" or "regression".
        constraints: The search's limits; a tfnas space may size its ranges
            by them (`EdgeSpace.for_limits`: the image space grows to phone
            scale under millions of MACs).

    Returns:
        A keras-tuner HyperModel; tfnas spaces come back `configure`d (a copy:
        the caller's instance is not changed).

    Raises:
        TfnasInputError: Unknown name, unusable object, or an input rank the
            chosen space does not take.
    """
    if isinstance(space, str):
        key = space.strip().lower()
        if key == "auto":
            rank = _rank(input_shape)
            cls = auto_space(input_shape)
            if cls is None:
                raise TfnasInputError(
                    f"space='auto' cannot pick a space for input_shape={tuple(input_shape)} (rank {rank}): "
                    f"{_VALID}; reshape the data to rank 1, 2 or 3 or pass your own HyperModel."
                )
            return cls().for_limits(constraints).configure(input_shape, num_outputs, task)
        if key in SPACES:
            return _named(key, input_shape, constraints).for_limits(constraints).configure(input_shape, num_outputs, task)
        raise TfnasInputError(f"Unknown space {space!r}: {_VALID}.")
    if isinstance(space, EdgeSpace):
        return space.for_limits(constraints).configure(input_shape, num_outputs, task)
    if isinstance(space, type) and issubclass(space, EdgeSpace):
        return space().for_limits(constraints).configure(input_shape, num_outputs, task)
    if isinstance(space, kt.HyperModel):
        return space
    if callable(space) and not isinstance(space, type):
        return FunctionSpace(space)
    raise TfnasInputError(f"Cannot use space={space!r} ({type(space).__name__}): {_VALID}.")


def _named(key: str, input_shape: tuple[int, ...], constraints: Constraints | None) -> EdgeSpace:
    """The space a name stands for. "mobilenet" gets the phone-scale ranges on the images and budgets where the auto
    image space's MobileNet family does (`tfnas.spaces.scale.phone_scale`): by name as within "auto"."""
    if SPACES[key] is MobileNetSpace and phone_scale(input_shape, constraints):
        return MobileNetSpace(**phone_ranges(constraints, input_shape))
    return SPACES[key]()


def initial_points_of(hypermodel: kt.HyperModel) -> list[dict[str, Any]]:
    """The values a search proposes first: an `EdgeSpace`'s `initial_points()`; none for any other HyperModel."""
    return list(hypermodel.initial_points()) if isinstance(hypermodel, EdgeSpace) else []


def summary_keys_of(hypermodel: kt.HyperModel) -> tuple[str, ...] | None:
    """The hyperparameters progress lines show: an `EdgeSpace`'s `summary_keys`; None (the first four) for other HyperModels."""
    return tuple(hypermodel.summary_keys) if isinstance(hypermodel, EdgeSpace) else None


def _rank(input_shape: Any) -> int:
    try:
        return len(tuple(input_shape))
    except TypeError:
        raise TfnasInputError(
            f"input_shape={input_shape!r} must be a tuple of positive ints without the batch axis."
        ) from None
