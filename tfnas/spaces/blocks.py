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


def make_divisible(value: float, divisor: int = 8) -> int:
    """`value` rounded to the nearest multiple of `divisor`, never below it nor more than 10% down (MobileNet's rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def activation(k: ModuleType, x: Any, kind: str, name: str) -> Any:
    """ReLU or hard-swish (`x * relu6(x + 3) / 6`, MobileNetV3's), named `name_relu` / `name_hswish`.

    Keras 3 has `hard_swish` as an activation (the int8 converter makes it
    one HARD_SWISH op); tf_keras has none, so there it is the same formula
    on TensorFlow ops.
    """
    if kind == "relu":
        return k.layers.ReLU(name=f"{name}_relu")(x)
    fn = "hard_swish" if hasattr(k.activations, "hard_swish") else _tf_hard_swish
    return k.layers.Activation(fn, name=f"{name}_hswish")(x)


def _tf_hard_swish(x: Any) -> Any:
    import tensorflow as tf

    return x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)


def squeeze_excite(k: ModuleType, x: Any, channels: int, name: str) -> Any:
    """Squeeze-and-excite (MobileNetV3's): global average pool, 1x1 conv to a quarter (multiple of 8) + ReLU,
    1x1 conv back to `channels` + sigmoid, and a Multiply that rescales each channel of `x`."""
    s = k.layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_se_pool")(x)
    s = k.layers.Conv2D(make_divisible(channels / 4), 1, activation="relu", name=f"{name}_se_reduce")(s)
    s = k.layers.Conv2D(channels, 1, activation="sigmoid", name=f"{name}_se_expand")(s)
    return k.layers.Multiply(name=f"{name}_se_scale")([x, s])
