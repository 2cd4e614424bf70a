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


HEADS = ("gap", "flatten")


def pick(hp: kt.HyperParameters, name: str, choices: tuple) -> Any:
    """`hp.Choice` over `choices`; a single choice is a constant and registers no hp.

    Ranges that older spaces did not have (such as `head`) default to one
    choice, so those spaces keep the same hyperparameters as before.
    """
    if len(choices) == 1:
        return choices[0]
    return hp.Choice(name, list(choices))


def head(k: ModuleType, x: Any, kind: str, rank: int) -> Any:
    """Global average pooling or Flatten over a rank-1 or rank-2 feature map, named `pool` / `flatten`.

    On the tiny maps of small inputs (8x8 digits, 40-step signals) a Flatten
    keeps where each feature is, which averaging throws away; on large maps it
    makes the head's Dense layer large, which the cost model prices.
    """
    if kind == "flatten":
        return k.layers.Flatten(name="flatten")(x)
    pool = k.layers.GlobalAveragePooling2D if rank == 2 else k.layers.GlobalAveragePooling1D
    return pool(name="pool")(x)
