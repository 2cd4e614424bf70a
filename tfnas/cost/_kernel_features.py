"""What each op of the predicted int8 graph costs a CPU kernel: its shape features, for the latency predictor.

The same function describes the ops of a whole candidate and the one op of a
calibration micro-model (`tfnas.latency.kernels` lowers each micro-model with
this cost model too), so the predictor sees the two through one lens. Exact
sizes come from the lowered tensors (weights carry their output channels as
`scales`); kernel size and stride, which bytes alone cannot tell apart, come
from the Keras layer that made the op (`Tensor.origin`).
"""

from __future__ import annotations

import math
from typing import Any

from tfnas.cost._graph import Graph
from tfnas.cost._tflite_graph import Lowered
from tfnas.cost._tflite_graph import Op

# Raw Keras operations (keras.ops.add on symbolic tensors, as in Keras's MobileNetV3) that the cost model
# lowers as opaque CUSTOM ops but the converter writes as these builtins.
RAW_OPS = {
    "Add": "ADD",
    "Multiply": "MUL",
    "Subtract": "SUB",
    "Maximum": "MAXIMUM",
    "Minimum": "MINIMUM",
}
FEATURES = ("macs", "in_bytes", "in2_bytes", "out_bytes", "weight_bytes", "cin", "cout", "kernel", "stride",
            "out_hw", "macs8", "macs16", "macs32")  # fmt: skip
CONV_KINDS = ("CONV_2D", "DEPTHWISE_CONV_2D")
POOL_KINDS = ("AVERAGE_POOL_2D", "MAX_POOL_2D")


def _pad(n: float, tile: int) -> int:
    return int(math.ceil(n / tile) * tile)


def _window(layer: Any, kind: str) -> tuple[tuple[int, int], int]:
    """(kernel height, width) and stride of a conv or pooling op, read from its Keras layer (1D as (1, k))."""
    if kind == "CONV_2D" and hasattr(layer, "depth_multiplier"):
        return (1, 1), 1  # the pointwise half of a separable conv
    size = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None) or (1, 1)
    strides = getattr(layer, "strides", None) or size
    size, strides = tuple(size), tuple(strides)
    if len(size) == 1:
        size, strides = (1, size[0]), (1, strides[0])
    return (int(size[0]), int(size[1])), int(max(strides))


def op_kind(op: Op, graph: Graph, lowered: Lowered) -> str:
    """The builtin an op runs as; a CUSTOM op from a raw Keras add/multiply is the builtin it converts to."""
    if op.kind != "CUSTOM":
        return op.kind
    layer = graph.calls[lowered.tensors[op.outputs[0]].origin].op
    return RAW_OPS.get(type(layer).__name__, "CUSTOM")


def op_features(op: Op, graph: Graph, lowered: Lowered) -> dict[str, float]:
    """The shape features of one op (every name in `FEATURES`; 0 where one does not apply).

    MACs count what the kernel computes (convs and dense as in `profile`,
    pooling as window x outputs, other ops one per output element);
    `macs8/16/32` count them with channels rounded up to SIMD tiles of that
    many int8 lanes, which is what an optimized kernel actually spends.
    """
    tensors = lowered.tensors
    acts = [tensors[t] for t in op.inputs if t >= 0 and not tensors[t].const]
    consts = [tensors[t] for t in op.inputs if t >= 0 and tensors[t].const]
    out = tensors[op.outputs[0]]
    f = dict.fromkeys(FEATURES, 0.0)
    f["in_bytes"] = float(sum(t.nbytes for t in acts))
    f["in2_bytes"] = float(acts[1].nbytes) if len(acts) > 1 else 0.0
    f["out_bytes"] = float(sum(tensors[t].nbytes for t in op.outputs))
    f["weight_bytes"] = float(sum(t.nbytes for t in consts))
    layer = graph.calls[out.origin].op if out.origin >= 0 else None
    kind = op_kind(op, graph, lowered)
    weight = next((t for t in consts if t.role == "weight"), None)
    if kind in CONV_KINDS + ("FULLY_CONNECTED",) and weight is not None:
        _weighted_features(f, kind, layer, weight.nbytes, weight.scales)
    elif kind in POOL_KINDS:
        (kh, kw), stride = _window(layer, kind)
        channels = graph.shapes[graph.calls[out.origin].outputs[0]][-1]
        _set(
            f,
            cin=channels,
            cout=channels,
            kernel=kh * kw,
            stride=stride,
            out_hw=f["out_bytes"] / channels,
        )
        for tile in (8, 16, 32):
            f[f"macs{tile}"] = f["out_hw"] * kh * kw * _pad(channels, tile)
        f["macs"] = f["out_bytes"] * kh * kw
    elif out.origin >= 0:
        _elementwise_features(f, graph, out.origin)
    return f


def _elementwise_features(f: dict[str, float], graph: Graph, origin: int) -> None:
    """Other ops: channels and positions of the layer's output (a row copy or a SIMD loop runs over them)."""
    call = graph.calls[origin]
    channels = max(graph.shapes[call.outputs[0]][-1:] or (1,))
    cin = max(graph.shapes[call.inputs[0]][-1:] or (1,)) if call.inputs else channels
    _set(f, cin=cin, cout=channels, kernel=1, stride=1, out_hw=f["out_bytes"] / channels)
    work = max(f["out_bytes"], f["in_bytes"])
    f["macs"] = work
    for tile in (8, 16, 32):
        f[f"macs{tile}"] = work / channels * _pad(channels, tile)


def _set(f: dict[str, float], **values: float) -> None:
    for key, value in values.items():
        f[key] = float(value)


def _weighted_features(f: dict[str, float], kind: str, layer: Any, w_bytes: int, channels: int) -> None:
    """Conv, depthwise and dense features from the weight tensor (bytes, output channels) and the layer."""
    cout = max(channels, 1)
    if kind == "FULLY_CONNECTED":
        cin = w_bytes / cout
        rows = f["out_bytes"] / cout
        _set(
            f,
            cin=cin,
            cout=cout,
            kernel=1,
            stride=1,
            out_hw=rows,
            macs=rows * cin * cout,
        )
        for tile in (8, 16, 32):
            f[f"macs{tile}"] = rows * _pad(cin, tile) * _pad(cout, tile)
        return
    (kh, kw), stride = _window(layer, kind)
    k = kh * kw
    out_hw = f["out_bytes"] / cout
    if kind == "DEPTHWISE_CONV_2D":
        _set(
            f,
            cin=cout,
            cout=cout,
            kernel=k,
            stride=stride,
            out_hw=out_hw,
            macs=out_hw * k * cout,
        )
        for tile in (8, 16, 32):
            f[f"macs{tile}"] = out_hw * k * _pad(cout, tile)
        return
    cin = w_bytes / (k * cout)
    _set(
        f,
        cin=cin,
        cout=cout,
        kernel=k,
        stride=stride,
        out_hw=out_hw,
        macs=out_hw * k * cin * cout,
    )
    for tile in (8, 16, 32):
        f[f"macs{tile}"] = out_hw * k * _pad(cin, tile) * _pad(cout, tile)


def graph_kernels(graph: Graph, lowered: Lowered) -> list[tuple[str, dict[str, float]]]:
    """(kernel type, features) of every op of a lowered graph, in execution order."""
    return [(op_kind(op, graph, lowered), op_features(op, graph, lowered)) for op in lowered.ops]
