"""Layer helpers shared by the spaces: Conv + BN + ReLU, boolean hps, stride clamping."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import keras_tuner as kt


def conv_bn_relu(k: ModuleType, x: Any, conv: Any, name: str, relu: bool = True) -> Any:
    """Applies `conv`, then BatchNormalization and (optionally) ReLU, named `name_bn`, `name_relu`.

    BN momentum is 0.9, not Keras's 0.99: edge data sets are small (digits
    trains ~35 steps an epoch), and with 0.99 the moving statistics lag the
    weights for many epochs, so validation accuracy says little about the model.
    """
    x = conv(x)
    x = k.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    if relu:
        x = k.layers.ReLU(name=f"{name}_relu")(x)
    return x


def bool_hp(hp: kt.HyperParameters, name: str, choices: tuple[bool, ...]) -> bool | None:
    """A boolean hp: `hp.Boolean` for two choices, `hp.Fixed` for one (`hp.Choice` would turn bools into ints)."""
    if len(choices) == 1:
        return hp.Fixed(name, choices[0])
    return hp.Boolean(name, default=choices[0])


def clamp_stride(stride: int, size: int) -> int:
    """The stride to use on an axis of `size` positions: 1 when the axis is already 1 wide."""
    return 1 if size <= 1 else min(stride, size)


def same_out(size: int, stride: int) -> int:
    """Output length of a "same"-padded op."""
    return -(-size // stride)
