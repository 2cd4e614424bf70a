"""Per-layer MACs and FLOPs rules, measured against the TensorFlow profiler.

FLOPs follow the TensorFlow profiler (`tf.compat.v1.profiler`, float_operation
view) on the frozen batch-1 inference graph that Keras 3 traces, so a rule is
"what the profiler counts for the TF ops this layer emits", measured op by op
on one-layer models (see tests/cost_tests/test_flops.py):

* Conv2D (Conv1D is a Conv2D with a unit height): 2 * outputs * kernel
  volume * input channels; with a dilation TF runs the conv on a
  space-to-batch input, so the output positions are rounded up to a multiple
  of the dilation in each axis. DepthwiseConv2dNative: 2 * outputs * kernel
  volume. MatMul: 2 * rows * in * out. BiasAdd: one per output element.
* Elementwise Add/Sub/Mul/RealDiv/Maximum/Minimum/Greater/Neg: one per
  output element; Rsqrt: 2 per element; Softmax: 5 per element; Mean: one
  per input element; AvgPool/MaxPool: pool area * outputs.
* Relu, Relu6, Sigmoid, Tanh, Elu, Selu, Softplus, LeakyRelu, Max
  (global max pooling), ConcatV2, Pad, Reshape: not counted by the profiler,
  so 0 here too.

MACs count only the multiply-accumulates of the weight layers: Conv/Depthwise/
Separable convolutions (1D and 2D, transposed too) and Dense; a multiply-add
is one MAC (two FLOPs). Bias adds, normalisation, pooling, activations and
merges are 0 MACs.

A rule returns `None` for a layer (or a configuration of it) that has no
measured rule; the caller then warns and asks the profiler.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras

from tfnas.cost._graph import Shape

L = keras.layers

# FLOPs per output element of each activation, as the profiler counts the ops
# Keras emits for it (e.g. swish = x * sigmoid(x): 2 Mul; hard_swish:
# AddV2 + RealDiv + Mul; gelu (exact): Neg + 3 Mul around Erfc).
_ACTIVATION_FLOPS = {
    "linear": 0, "relu": 0, "relu6": 0, "sigmoid": 0, "tanh": 0, "elu": 0, "selu": 0,
    "softplus": 0, "softsign": 0, "exponential": 0, "leaky_relu": 0, "log_softmax": 0,
    "softmax": 5, "silu": 2, "hard_sigmoid": 2, "hard_silu": 3, "gelu": 4, "mish": 1,
}  # fmt: skip
_ACTIVATIONS = {}
for _name, _flops in _ACTIVATION_FLOPS.items():
    _ACTIVATIONS[keras.activations.get(_name)] = (_name, _flops)


def activation_name(fn: Any) -> str | None:
    """Canonical name of a Keras activation function ("relu", "silu", ...), or None when unknown."""
    entry = _ACTIVATIONS.get(fn)
    return entry[0] if entry else None


def _act(fn: Any, elements: int) -> int | None:
    """FLOPs of applying a Keras activation to `elements` values; None when unknown."""
    entry = _ACTIVATIONS.get(fn)
    return None if entry is None else entry[1] * elements


Rule = Callable[[Any, list[Shape], list[Shape]], "tuple[int, int] | None"]


def _channel_axis(layer: Any) -> int:
    return 0 if getattr(layer, "data_format", "channels_last") == "channels_first" else -1


def _spatial(layer: Any, shape: Shape) -> Shape:
    return shape[1:] if _channel_axis(layer) == 0 else shape[:-1]


def _positions(layer: Any, out: Shape) -> int:
    """Output positions the TF conv op computes (rounded up to the dilation under space-to-batch)."""
    dilation = tuple(layer.dilation_rate)
    return math.prod(-(-o // d) * d for o, d in zip(_spatial(layer, out), dilation, strict=True))


def _with_tail(layer: Any, out: Shape, flops: int, macs: int) -> tuple[int, int] | None:
    """Adds the bias add and the activation of a weight layer."""
    n = math.prod(out)
    act = _act(layer.activation, n)
    if act is None:
        return None
    return macs, flops + (n if layer.use_bias else 0) + act


def _conv(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int] | None:
    cin = ins[0][_channel_axis(layer)]
    kvol = math.prod(layer.kernel_size)
    per_position = kvol * (cin // layer.groups) * layer.filters
    macs = math.prod(_spatial(layer, outs[0])) * per_position
    return _with_tail(layer, outs[0], 2 * _positions(layer, outs[0]) * per_position, macs)


def _depthwise(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int] | None:
    cout = ins[0][_channel_axis(layer)] * layer.depth_multiplier
    kvol = math.prod(layer.kernel_size)
    macs = math.prod(_spatial(layer, outs[0])) * cout * kvol
    return _with_tail(layer, outs[0], 2 * _positions(layer, outs[0]) * cout * kvol, macs)


def _separable(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int] | None:
    mid = ins[0][_channel_axis(layer)] * layer.depth_multiplier
    kvol = math.prod(layer.kernel_size)
    spatial = math.prod(_spatial(layer, outs[0]))
    macs = spatial * mid * kvol + spatial * mid * layer.filters
    flops = 2 * _positions(layer, outs[0]) * mid * kvol + 2 * spatial * mid * layer.filters
    return _with_tail(layer, outs[0], flops, macs)


def _transpose(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int] | None:
    cin = ins[0][_channel_axis(layer)]
    kvol = math.prod(layer.kernel_size)
    # Conv2DBackpropInput: 2 * outputs * kernel size / (out channels * stride product), as a float.
    flops = int(2 * math.prod(outs[0]) * kvol * cin / math.prod(layer.strides))
    macs = math.prod(_spatial(layer, ins[0])) * cin * kvol * layer.filters
    return _with_tail(layer, outs[0], flops, macs)


def _dense(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int] | None:
    macs = math.prod(ins[0]) * layer.units
    return _with_tail(layer, outs[0], 2 * macs, macs)


def _batch_norm(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int] | None:
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    channels = math.prod(ins[0][a if a < 0 else a - 1] for a in axes)
    # x * inv + (beta - mean * inv): 2 per element; rsqrt(var + eps) (3), [* gamma] and the offset (2) per channel.
    return 0, 2 * math.prod(outs[0]) + (6 if layer.scale else 5) * channels


def _layer_norm(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int] | None:
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    if list(axes) != [-1] and list(axes) != [len(ins[0])]:
        return None
    if not (layer.center and layer.scale) or getattr(layer, "rms_scaling", False):
        return None
    n = math.prod(outs[0])
    return 0, 9 * n + 4 * (n // ins[0][-1])


def _normalization(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int] | None:
    if layer.invert:
        return None
    # (x - mean) / max(sqrt(var), eps): Sub + RealDiv per element, Maximum per statistic.
    return 0, 2 * math.prod(outs[0]) + math.prod(tuple(layer.mean.shape))


def _relu(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int] | None:
    n = math.prod(outs[0])
    slope, max_value, threshold = float(layer.negative_slope), layer.max_value, float(layer.threshold)
    if slope != 0 and max_value is None and threshold == 0:
        return 0, 0  # tf.nn.leaky_relu
    ops = 0
    if slope != 0:
        ops += 3 + (1 if threshold != 0 else 0)  # Neg [+ AddV2], then Mul and Sub
    if threshold != 0:
        ops += 1  # Greater
    if max_value is not None and (threshold != 0 or float(max_value) != 6.0):
        ops += 2  # clip_by_value: Minimum + Maximum
    return 0, ops * n


def _softmax(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int] | None:
    axis = layer.axis
    if isinstance(axis, (list, tuple)):
        return None
    last = axis == -1 or axis == len(ins[0])
    return 0, 5 * math.prod(outs[0]) + (0 if last else 2)


def _activation(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int] | None:
    flops = _act(layer.activation, math.prod(outs[0]))
    return None if flops is None else (0, flops)


def _prelu(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int] | None:
    return 0, 3 * math.prod(outs[0]) + math.prod(layer.alpha.shape)


def _pool(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int] | None:
    return 0, math.prod(layer.pool_size) * math.prod(outs[0])


def _per_output(per_input: int, extra: int = 0) -> Rule:
    """Merge layers: `per_input` FLOPs per output element per input beyond the first, plus `extra` per element."""

    def rule(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int]:
        return 0, (per_input * (len(ins) - 1) + extra) * math.prod(outs[0])

    return rule


def _const(flops: int) -> Rule:
    def rule(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int]:
        return 0, flops

    return rule


def _upsampling2d(layer: Any, ins: list[Shape], outs: list[Shape]) -> tuple[int, int]:
    return 0, 2 if layer.interpolation == "nearest" else 0


RULES: dict[type, Rule] = {
    L.Conv1D: _conv, L.Conv2D: _conv, L.Conv3D: _conv,
    L.DepthwiseConv1D: _depthwise, L.DepthwiseConv2D: _depthwise,
    L.SeparableConv1D: _separable, L.SeparableConv2D: _separable,
    L.Conv1DTranspose: _transpose, L.Conv2DTranspose: _transpose,
    L.Dense: _dense,
    L.BatchNormalization: _batch_norm, L.LayerNormalization: _layer_norm, L.Normalization: _normalization,
    L.Rescaling: lambda layer, ins, outs: (0, 2 * math.prod(outs[0])),  # x * scale + offset
    L.Activation: _activation, L.ReLU: _relu, L.Softmax: _softmax, L.PReLU: _prelu,
    L.LeakyReLU: _const(0), L.ELU: _const(0),
    L.MaxPooling1D: _pool, L.MaxPooling2D: _pool, L.AveragePooling1D: _pool, L.AveragePooling2D: _pool,
    L.GlobalAveragePooling1D: lambda layer, ins, outs: (0, math.prod(ins[0])),  # Mean
    L.GlobalAveragePooling2D: lambda layer, ins, outs: (0, math.prod(ins[0])),
    L.GlobalMaxPooling1D: _const(0), L.GlobalMaxPooling2D: _const(0), L.GlobalMaxPooling3D: _const(0),
    L.Add: _per_output(1), L.Subtract: _per_output(1), L.Multiply: _per_output(1),
    L.Maximum: _per_output(1), L.Minimum: _per_output(1), L.Average: _per_output(1, extra=1),
    L.Concatenate: _const(0),
    L.Flatten: _const(0), L.Reshape: _const(0), L.Permute: _const(0), L.Identity: _const(0),
    L.Dropout: _const(0), L.SpatialDropout1D: _const(0), L.SpatialDropout2D: _const(0),
    L.GaussianNoise: _const(0), L.GaussianDropout: _const(0), L.AlphaDropout: _const(0),
    L.ActivityRegularization: _const(0), L.InputLayer: _const(0),
    L.ZeroPadding1D: _const(0), L.ZeroPadding2D: _const(0), L.ZeroPadding3D: _const(0),
    L.Cropping1D: _const(0), L.Cropping2D: _const(0), L.Cropping3D: _const(0),
    L.UpSampling1D: _const(1), L.UpSampling2D: _upsampling2d, L.RepeatVector: _const(1),  # a scalar Mul in tf.repeat
}  # fmt: skip


def layer_costs(layer: Any, in_shapes: list[Shape], out_shapes: list[Shape]) -> tuple[int, int] | None:
    """MACs and FLOPs of one call of a layer (batch 1), or None when there is no measured rule.

    The rule is picked on the exact class: a subclass may compute something
    else, so it goes to the profiler instead.
    """
    rule = RULES.get(type(layer))
    if rule is None:
        return None
    return rule(layer, in_shapes, out_shapes)
