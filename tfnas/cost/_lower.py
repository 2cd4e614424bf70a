"""Lowers a flattened Keras model to its predicted int8 TFLite graph, layer call by layer call.

What each layer becomes (as the TFLite converter, full int8 with the batch-1
input signature of `tfnas.export`, was seen to emit; fusions are planned in
`_tflite_graph`):

* Conv2D/DepthwiseConv2D -> CONV_2D / DEPTHWISE_CONV_2D with int8 per-channel
  weights and an int32 bias (even for `use_bias=False`); Separable ->
  DEPTHWISE_CONV_2D + 1x1 CONV_2D. The 1D layers (Conv1D, DepthwiseConv1D,
  SeparableConv1D, pooling 1D) run as their 2D ops on (1, 1, T, C) tensors:
  a RESHAPE goes in before the first of a chain of them and one comes out
  only where another kind of op reads the result; elementwise ops between
  them (a residual Add) stay 4D too.
* Dense -> FULLY_CONNECTED; softmax, sigmoid, tanh, swish, hard_swish
  activations become SOFTMAX, LOGISTIC, TANH, LOGISTIC + MUL, HARD_SWISH.
* Flatten/Reshape -> RESHAPE (none when it only adds leading 1s before a
  broadcasting elementwise op), ZeroPadding -> PAD (none when it is the "same"
  padding of the 2D conv reading it), global pooling -> MEAN / REDUCE_MAX (with
  TFLM scratch buffers), Add/Multiply/... -> one binary op per extra input.
* A layer without a rule becomes one opaque op with its parameters as int8.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

from tfnas.cost._graph import Call
from tfnas.cost._graph import Graph
from tfnas.cost._layers import activation_name
from tfnas.cost._names import name_lengths
from tfnas.cost._order import converter_order
from tfnas.cost._tflite_graph import ACT_OPS
from tfnas.cost._tflite_graph import ALIAS
from tfnas.cost._tflite_graph import BINARY_OPS
from tfnas.cost._tflite_graph import CONV1D
from tfnas.cost._tflite_graph import CONV2D
from tfnas.cost._tflite_graph import Lowered
from tfnas.cost._tflite_graph import Lowerer
from tfnas.cost._tflite_graph import Op
from tfnas.cost._tflite_graph import act_of

L = keras.layers
GLOBAL_POOLS = (L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalMaxPooling1D, L.GlobalMaxPooling2D)


def _activation_ops(low: Lowerer, index: int, act: str | None, x: int, shape: tuple[int, ...]) -> int:
    """Appends the ops of an activation that did not fuse into the op before it."""
    if act is None or (index in low.fused_act and act in ("relu", "relu6")):
        return x
    kinds = ACT_OPS.get(act, ["ACTIVATION"])
    if act == "hard_sigmoid" and low.out.ops and low.out.ops[-1].outputs == [x]:
        kinds = ["MUL"]  # x + 3 folds into the bias and relu6 fuses: only the 1/6 scaling remains
    first = x
    for kind in kinds:
        inputs = [x, first] if kind == "MUL" and act == "silu" else [x]
        if kind in ("ADD", "MUL") and act == "hard_sigmoid":
            inputs = [x, low.const(1, 0, "shared", scales=1)]
        x = low.emit(kind, inputs, shape, "act")
    return x


def _weighted(low: Lowerer, index: int, call: Call) -> int:
    """Conv (1D/2D), depthwise, separable and dense layers, with what folded into them."""
    op, g = call.op, low.g
    in_shape, out_shape = g.shapes[call.inputs[0]], g.shapes[call.outputs[0]]
    x = low.val[call.inputs[0]]
    if isinstance(op, L.Dense):
        folded = [g.calls[j].op for j in low.folded_in.get(index, [])]
        bias = op.use_bias or any(isinstance(f, (L.BatchNormalization, L.Rescaling)) for f in folded)
        bias = bias and index not in low.bias_moved
        w = low.const(op.units * in_shape[-1], 2, "weight", scales=op.units)
        b = low.const(4 * op.units, 1, "bias", scales=op.units) if bias else -1
        x = low.emit("FULLY_CONNECTED", [x, w, b], out_shape)
    else:
        is_1d = isinstance(op, CONV1D)
        if is_1d:
            x = _to_4d(low, x, in_shape)
        spatial = ((1,) + out_shape[:-1]) if is_1d else out_shape[:-1]
        cin, k = in_shape[-1], math.prod(op.kernel_size)
        if isinstance(op, (L.DepthwiseConv1D, L.DepthwiseConv2D, L.SeparableConv1D, L.SeparableConv2D)):
            mid = cin * op.depth_multiplier
            w = low.const(k * mid, 4, "weight", scales=mid)
            b = low.const(4 * mid, 1, "bias", scales=mid)
            x = low.emit("DEPTHWISE_CONV_2D", [x, w, b], spatial + (mid,), "aux" if hasattr(op, "filters") else "out")
            cin, k = mid, 1
        else:
            cin //= op.groups
        if hasattr(op, "filters"):
            w = low.const(k * cin * op.filters, 4, "weight", scales=op.filters)
            b = low.const(4 * op.filters, 1, "bias", scales=op.filters)
            x = low.emit("CONV_2D", [x, w, b], spatial + (op.filters,))
        if is_1d:
            x = _squeeze(low, x, out_shape)
            if out_shape[-1] == 1 and op.use_bias:  # a one-channel 1D conv keeps its bias add
                x = low.emit("ADD", [x, low.const(1, 1, "bias", scales=1)], out_shape, "act")
    return _activation_ops(low, index, activation_name(op.activation) or "other", x, out_shape)


def _reshape(low: Lowerer, index: int, call: Call) -> int:
    """Flatten/Reshape: one RESHAPE with a constant shape (the batch is 1), or nothing at all."""
    g = low.g
    in_shape, out_shape = g.shapes[call.inputs[0]], g.shapes[call.outputs[0]]
    x = low.val[call.inputs[0]]
    if isinstance(call.op, L.Flatten) and len(in_shape) == 1:
        return x
    readers = [g.calls[j].op for j in low.readers.get(call.outputs[0], [])]
    added = len(out_shape) - len(in_shape)
    leading_ones = out_shape[added:] == in_shape and set(out_shape[:added]) == {1}
    if leading_ones and readers and all(type(op) in BINARY_OPS for op in readers):
        return x  # the elementwise op broadcasts the unreshaped tensor
    return low.emit("RESHAPE", [low.squeezed.get(x, x), _shape_const(low, out_shape)], out_shape)


def _shape_const(low: Lowerer, shape: tuple[int, ...]) -> int:
    """The int32 shape vector a batch-1 RESHAPE to `shape` reads (stored once per shape)."""
    return low.const(4 * (len(shape) + 1), 1, "const", key=("shape", shape))


def _to_4d(low: Lowerer, x: int, shape: tuple[int, ...]) -> int:
    """The (1, 1, T, C) form of a 1D tensor: the one a 1D op left, else a RESHAPE of it."""
    if x in low.squeezed:
        return low.squeezed[x]
    shape4 = (1,) + shape
    return low.emit("RESHAPE", [x, _shape_const(low, shape4)], shape4, "aux")


def _squeeze(low: Lowerer, x4: int, shape: tuple[int, ...]) -> int:
    """The RESHAPE from a 1D op's (1, 1, T, C) result back to (1, T, C); dropped later if only 1D ops read it."""
    x = low.emit("RESHAPE", [x4, _shape_const(low, shape)], shape, "squeeze")
    low.squeezed[x] = x4
    return x


def _pool(low: Lowerer, index: int, call: Call) -> int:
    """Max/average pooling; the 1D ones run as 2D pooling between EXPAND_DIMS and RESHAPE."""
    g, op = low.g, call.op
    in_shape, out_shape = g.shapes[call.inputs[0]], g.shapes[call.outputs[0]]
    x = low.val[call.inputs[0]]
    kind = "MAX_POOL_2D" if isinstance(op, (L.MaxPooling1D, L.MaxPooling2D)) else "AVERAGE_POOL_2D"
    if isinstance(op, (L.MaxPooling1D, L.AveragePooling1D)):
        return _squeeze(low, low.emit(kind, [_to_4d(low, x, in_shape)], (1,) + out_shape), out_shape)
    return low.emit(kind, [x], out_shape)


def _global_pool(low: Lowerer, index: int, call: Call) -> int:
    """Global average/max pooling: MEAN / REDUCE_MAX over the spatial axes."""
    g, op = low.g, call.op
    in_shape, out_shape = g.shapes[call.inputs[0]], g.shapes[call.outputs[0]]
    axes = len(in_shape) - 1
    kind = "MEAN" if isinstance(op, (L.GlobalAveragePooling1D, L.GlobalAveragePooling2D)) else "REDUCE_MAX"
    # TFLM reduce kernels request scratch: int32 index and axis arrays, plus int32 sums for MEAN.
    scratch = [4 * (len(in_shape) + 1), 4 * axes] + ([4 * math.prod(out_shape)] if kind == "MEAN" else [])
    axis_const = low.const(4 * axes, 1, "const", key=("axes", axes))
    return low.emit(kind, [low.val[call.inputs[0]], axis_const], out_shape, scratch=scratch)


def _affine(low: Lowerer, index: int, call: Call) -> int:
    """A BatchNormalization or Rescaling that could not fold: MUL, then ADD for a non-zero offset."""
    op, g = call.op, low.g
    out_shape = g.shapes[call.outputs[0]]
    size = out_shape[-1] if isinstance(op, L.BatchNormalization) else int(np.size(op.scale))
    x = low.emit("MUL", [low.val[call.inputs[0]], low.const(size, 1, "const", scales=1)], out_shape, "aux")
    if isinstance(op, L.BatchNormalization) or np.any(np.asarray(op.offset) != 0):
        x = low.emit("ADD", [x, low.const(size, 1, "const", scales=1)], out_shape)
    return x


def _merge(low: Lowerer, index: int, call: Call) -> int:
    """Concatenate -> CONCATENATION; Add/Subtract/Multiply/Maximum/Minimum/Average -> chained binary ops."""
    op, g = call.op, low.g
    out_shape = g.shapes[call.outputs[0]]
    ins = [low.val[t] for t in call.inputs]
    if len(out_shape) == 2 and all(t in low.squeezed for t in ins):
        # between 1D ops the merge runs on their (1, 1, T, C) results
        shape4 = (1,) + out_shape
        merged = _merge_ops(low, op, [low.squeezed[t] for t in ins], shape4)
        return _squeeze(low, merged, out_shape)
    return _merge_ops(low, op, ins, out_shape)


def _merge_ops(low: Lowerer, op: Any, ins: list[int], out_shape: tuple[int, ...]) -> int:
    if isinstance(op, L.Concatenate):
        return low.emit("CONCATENATION", ins, out_shape)
    kind = "ADD" if isinstance(op, L.Average) else BINARY_OPS[type(op)]
    x = ins[0]
    for other in ins[1:]:
        x = low.emit(kind, [x, other], out_shape)
    if isinstance(op, L.Average):
        x = low.emit("MUL", [x, low.const(1, 0, "shared", scales=1)], out_shape, "act")
    return x


def _generic(low: Lowerer, index: int, call: Call, kind: str) -> list[int]:
    """One op reading every input and writing every output; the layer's parameters stored as int8."""
    g = low.g
    ins = [low.val[t] for t in call.inputs]
    params = call.op.count_params() if isinstance(call.op, keras.layers.Layer) and call.first_call else 0
    if params:
        ins.append(low.const(params, 1, "weight", scales=1))
    outs = [low.tensor(g.size(t), len(g.shapes[t]) + 1, "out") for t in call.outputs]
    low.out.ops.append(Op(kind, ins, outs))
    return outs


def lower_call(low: Lowerer, index: int, call: Call) -> None:
    """Appends the ops of one layer call to the lowered graph and records its output tensors."""
    op = call.op
    out_shape = low.g.shapes[call.outputs[0]]
    if call.opaque:
        outs = _generic(low, index, call, "CUSTOM")
    elif isinstance(op, CONV2D + CONV1D + (L.Dense,)):
        outs = [_weighted(low, index, call)]
    elif isinstance(op, (L.Flatten, L.Reshape)):
        outs = [_reshape(low, index, call)]
    elif isinstance(op, (L.MaxPooling1D, L.MaxPooling2D, L.AveragePooling1D, L.AveragePooling2D)):
        outs = [_pool(low, index, call)]
    elif isinstance(op, GLOBAL_POOLS):
        outs = [_global_pool(low, index, call)]
    elif isinstance(op, (L.BatchNormalization, L.Rescaling)):
        outs = [_affine(low, index, call)]
    elif isinstance(op, (L.Concatenate, L.Average)) or type(op) in BINARY_OPS:
        outs = [_merge(low, index, call)]
    elif act_of(op) is not None:
        outs = [_activation_ops(low, index, act_of(op), low.val[call.inputs[0]], out_shape)]
    elif isinstance(op, (L.ZeroPadding1D, L.ZeroPadding2D)):
        pads = low.const(8 * (len(out_shape) + 1), 2, "const", key=("pad", out_shape))
        outs = [low.emit("PAD", [low.val[call.inputs[0]], pads], out_shape)]
    else:
        kinds: dict[Any, str] = {L.PReLU: "PRELU", L.Permute: "TRANSPOSE", L.Cropping1D: "STRIDED_SLICE",
                                 L.Cropping2D: "STRIDED_SLICE", L.UpSampling2D: "RESIZE_NEAREST_NEIGHBOR"}  # fmt: skip
        outs = _generic(low, index, call, kinds.get(type(op), "CUSTOM"))
    for t, tid in zip(call.outputs, outs, strict=True):
        low.val[t] = tid


def lower(graph: Graph) -> Lowered:
    """Predicts the full-int8 TFLite graph of a flattened model, ops in the converter's order."""
    low = Lowerer(graph)
    low.plan_fusion()
    for t in graph.inputs:
        low.val[t] = low.tensor(graph.size(t), len(graph.shapes[t]) + 1, "input")
    low.out.inputs = [low.val[t] for t in graph.inputs]
    for index in converter_order(graph):
        call = graph.calls[index]
        if index in low.absorbed or isinstance(call.op, ALIAS):
            low.val[call.outputs[0]] = low.val[call.inputs[0]]
            continue
        low.current = index
        lower_call(low, index, call)
    low.out.outputs = [low.val[t] for t in graph.outputs]
    low.out = _collapse_reshapes(low.out)
    name_lengths(low)
    return low.out


def _collapse_reshapes(graph: Lowered) -> Lowered:
    """What the converter does to RESHAPEs at batch 1: a RESHAPE of a RESHAPE reads the first one's input,
    and a RESHAPE no op reads is dropped (1D ops read the 4D tensor directly), with the tensors left unused."""
    producer = {op.outputs[0]: op for op in graph.ops if op.kind == "RESHAPE"}
    for op in graph.ops:
        while op.kind == "RESHAPE" and op.inputs[0] in producer:
            op.inputs[0] = producer[op.inputs[0]].inputs[0]
    ops = graph.ops
    while True:  # dropping one RESHAPE can leave the one before it unread
        read = {t for op in ops for t in op.inputs} | set(graph.outputs)
        kept = [op for op in ops if op.kind != "RESHAPE" or op.outputs[0] in read]
        if len(kept) == len(ops):
            break
        ops = kept
    used = sorted(set(graph.inputs) | set(graph.outputs) | {t for op in ops for t in op.inputs + op.outputs if t >= 0})
    index = {old: new for new, old in enumerate(used)}
    remap = lambda ts: [index[t] if t >= 0 else t for t in ts]  # noqa: E731
    return Lowered(
        tensors=[graph.tensors[t] for t in used],
        ops=[Op(op.kind, remap(op.inputs), remap(op.outputs), op.scratch) for op in ops],
        inputs=remap(graph.inputs),
        outputs=remap(graph.outputs),
    )
