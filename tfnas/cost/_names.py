"""Estimated tensor-name lengths of the converted file (names are a sizeable part of a small `.tflite`).

The converter names a tensor after the TensorFlow ops it came from,
"<model>_1/<layer>_1/<op>", and a fused op after all of them joined with ";"
(a Conv2D with bias, BatchNormalization and ReLU gives 8 such components). The
number of components follows the layer family and what folded into it; each
component costs about the length of the layer's scope plus a suffix. The
per-role suffix and offset were fitted on real conversions (see `_size`).
"""

from __future__ import annotations

from typing import Any

import keras

from tfnas.cost._layers import activation_name

L = keras.layers
_FAMILY = {L.Conv2D: "conv", L.DepthwiseConv2D: "dw", L.SeparableConv2D: "sep", L.Conv1D: "conv1d",
           L.DepthwiseConv1D: "dw1d", L.SeparableConv1D: "sep1d", L.Dense: "dense"}  # fmt: skip
# Per role: (characters per component besides the scope, offset), fitted on real conversions.
_SUFFIX = {"weight": (15.3, 6.2), "bias": (10.8, -36.9), "out": (16.9, -16.2), "act": (5.9, 5.9),
           "aux": (8.4, 8.4), "const": (3.6, 3.6), "squeeze": (16.8, -12.6)}  # fmt: skip
_OUTPUT_NAME = len("Identity")
_SHARED_NAME = len("arith.constant1") + 2


def _components(low: Any, origin: int, role: str) -> int:
    """How many ";"-joined op names the tensor of a weight layer carries."""
    call = low.g.calls[origin]
    family = _FAMILY.get(type(call.op))
    if family is None or role not in ("out", "squeeze", "bias", "weight"):
        return 1
    if family.endswith("1d") and low.g.shapes[call.outputs[0]][-1] == 1:
        return 1  # a one-channel 1D conv fuses nothing (see `_lower`)
    folded = [low.g.calls[j].op for j in low.folded_in.get(origin, [])]
    bias = bool(call.op.use_bias)
    bn = any(isinstance(f, L.BatchNormalization) for f in folded)
    act = origin in low.fused_act or activation_name(call.op.activation) in ("relu", "relu6")
    if family == "dense":
        fused = 1 + bias + act + 2 * bn
    else:
        fused = 1 + 2 * bias + act + (2 if family == "conv" and not bias else 4) * bn + family.endswith("1d")
    if role == "out":
        return fused
    if role == "squeeze":
        return fused - 1
    if role == "bias":
        return fused if bias or bn else 1
    if not bn:
        return 1
    return {"dense": fused, "dw": fused - 3, "conv1d": fused - 3, "dw1d": fused - 3}.get(family, 1)


def name_lengths(low: Any) -> None:
    """Sets `Tensor.name` (estimated name length) on every tensor of a finished lowering."""
    outputs = set(low.out.outputs)
    # `tfnas.export` names the batch-1 inputs "input" (one) or "input_<i>" (several).
    names = ["input"] if len(low.out.inputs) == 1 else [f"input_{i}" for i in range(len(low.out.inputs))]
    inputs = dict(zip(low.out.inputs, names, strict=True))
    for index, tensor in enumerate(low.out.tensors):
        if index in outputs:
            tensor.name = _OUTPUT_NAME
        elif index in inputs:
            tensor.name = len(inputs[index])
        elif tensor.role == "shared":
            tensor.name = _SHARED_NAME
        else:
            k = _components(low, tensor.origin, tensor.role)
            per_component, offset = _SUFFIX.get(tensor.role, _SUFFIX["out"])
            tensor.name = int(k * (len(low.g.calls[tensor.origin].scope) + 1 + per_component) + offset)
