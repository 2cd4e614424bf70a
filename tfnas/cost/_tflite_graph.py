"""The predicted int8 TFLite graph, and how Keras layers fold into each other on the way there.

`Lowered` is the flatbuffer the converter would write (tensors with their
bytes, ops in execution order, TFLM scratch buffers); `Lowerer` builds it. Its
fusion plan reproduces what `TFLiteConverter.from_keras_model` (full int8) was
seen to do on real conversions:

* BatchNormalization folds into the conv/dense before it (when that output has
  no other reader), or into a Dense with a bias right after it; otherwise it
  is a MUL and an ADD (a 1D conv with a single output channel folds nothing).
* ReLU/ReLU6 fuse into conv/dense/ADD/SUB/MUL and BN's ADD, and vanish after
  2D pooling; Rescaling folds into a 2D conv/dense that reads it (not with a
  non-zero offset into a conv with "same" padding: MUL and ADD stay).
* A ZeroPadding2D read only by a "valid" 2D conv/depthwise/separable whose
  padding it equals to "same" padding folds into it (MobileNet's stride-2 pads).
* A linear Dense's bias folds into the bias of a Dense right after it
  (W2 (W1 x + b1) + b2), the last pair of a chain first.
* Dropout and the other training-only layers are no ops at all.

The weights are assumed trained: the converter drops an all-zero bias or BN
offset, which an untrained candidate has but the deployed model does not.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import keras
import numpy as np

from tfnas.cost._graph import Graph
from tfnas.cost._layers import activation_name

L = keras.layers
CONV2D = (L.Conv2D, L.DepthwiseConv2D, L.SeparableConv2D)
CONV1D = (L.Conv1D, L.DepthwiseConv1D, L.SeparableConv1D)
ALIAS = (L.Dropout, L.SpatialDropout1D, L.SpatialDropout2D, L.GaussianNoise, L.GaussianDropout,
         L.AlphaDropout, L.ActivityRegularization, L.Identity, L.InputLayer)  # fmt: skip
BINARY_OPS = {L.Add: "ADD", L.Subtract: "SUB", L.Multiply: "MUL", L.Maximum: "MAXIMUM", L.Minimum: "MINIMUM"}
ACT_OPS = {"relu": ["RELU"], "relu6": ["RELU6"], "sigmoid": ["LOGISTIC"], "tanh": ["TANH"], "softmax": ["SOFTMAX"],
           "silu": ["LOGISTIC", "MUL"], "hard_silu": ["HARD_SWISH"], "hard_sigmoid": ["ADD", "MUL"],
           "leaky_relu": ["LEAKY_RELU"], "elu": ["ELU"], "gelu": ["GELU"], "linear": []}  # fmt: skip


@dataclasses.dataclass
class Tensor:
    """A tensor of the predicted flatbuffer.

    Attributes:
        nbytes: Bytes of its data (int8 activations and weights, int32 biases and shapes).
        rank: Number of dimensions (batch included).
        const: True for weights and other constants (stored in the file, not in the arena).
        scales: Quantization scales it carries (per-channel weights: one per channel; 0 for int32 shapes).
        origin: Index of the layer call that made it (-1 for graph inputs).
        role: What it is for that call: "input", "out" (its result), "aux" (another activation),
            "weight", "bias", "const" (a shape/axis vector) or "shared" (a deduplicated constant).
        name: Estimated length of its name in the file (see `_names`).
    """

    nbytes: int
    rank: int
    const: bool = False
    scales: int = 1
    origin: int = -1
    role: str = "out"
    name: int = 0


@dataclasses.dataclass
class Op:
    """An operator of the predicted flatbuffer, in execution order, with TFLM scratch buffers (bytes)."""

    kind: str
    inputs: list[int]
    outputs: list[int]
    scratch: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Lowered:
    """The predicted TFLite graph: tensors (graph inputs first), ops in execution order."""

    tensors: list[Tensor] = dataclasses.field(default_factory=list)
    ops: list[Op] = dataclasses.field(default_factory=list)
    inputs: list[int] = dataclasses.field(default_factory=list)
    outputs: list[int] = dataclasses.field(default_factory=list)


def act_of(op: Any) -> str | None:
    """Activation a layer applies as a whole ("relu", "relu6", ...), None if it is not a pure activation."""
    if isinstance(op, L.Activation):
        return activation_name(op.activation) or "other"
    if isinstance(op, L.ReLU):
        slope, top, thr = float(op.negative_slope), op.max_value, float(op.threshold)
        if slope == 0 and thr == 0:
            return "relu" if top is None else ("relu6" if float(top) == 6.0 else "other")
        return "leaky_relu" if top is None and thr == 0 else "other"
    if isinstance(op, L.LeakyReLU):
        return "leaky_relu"
    if isinstance(op, L.Softmax):
        return "softmax"
    if isinstance(op, L.ELU):
        return "elu"
    return None


def _rescaling_folds(op: Any, reader: Any) -> bool:
    """Whether a Rescaling folds into the conv/dense reading it: an offset would also shift the zero padding."""
    return getattr(reader, "padding", "valid") != "same" or not np.any(np.asarray(op.offset) != 0)


def _pad_is_same(pad: Any, conv: Any, call: Any, graph: Graph) -> bool:
    """Whether ZeroPadding2D `pad` (call `call`) adds exactly the "same" padding of the valid 2D conv reading it."""
    formats = {getattr(layer, "data_format", "channels_last") for layer in (pad, conv)}
    if conv.padding != "valid" or formats != {"channels_last"}:
        return False
    in_shape = graph.shapes[call.inputs[0]]
    for axis in range(2):
        size, k, s = in_shape[axis], conv.kernel_size[axis], conv.strides[axis]
        k = (k - 1) * conv.dilation_rate[axis] + 1
        total = max((-(-size // s) - 1) * s + k - size, 0)
        if tuple(pad.padding[axis]) != (total // 2, total - total // 2):
            return False
    return True


class Lowerer:
    """Builds a `Lowered` graph: the fusion plan first, then ops appended one layer call at a time."""

    def __init__(self, graph: Graph) -> None:
        self.g = graph
        self.out = Lowered()
        self.val: dict[int, int] = {}  # Keras tensor -> TFLite tensor
        self.squeezed: dict[int, int] = {}  # 3D result of a 1D layer -> the 4D tensor before its RESHAPE
        self.shared: dict[Any, int] = {}  # deduplicated constants
        self.readers: dict[int, list[int]] = {}
        for i, call in enumerate(graph.calls):
            for t in call.inputs:
                self.readers.setdefault(t, []).append(i)
        self.outputs = set(graph.outputs)
        self.absorbed: dict[int, int] = {}  # call -> call it folds into
        self.fused_act: dict[int, str] = {}
        self.folded_in: dict[int, list[int]] = {}  # call -> calls folded into it
        self.current = -1  # the call being lowered
        self.bias_moved: set[int] = set()  # dense layers whose bias folds into the next dense layer
        self.tail_out: dict[int, int] = {}  # call -> its output after the BN/activation folded into it

    # -- graph helpers -------------------------------------------------------------------
    def only_reader(self, t: int) -> int | None:
        """The single call reading tensor t (through pass-through layers), None if several or a graph output."""
        while True:
            readers = self.readers.get(t, [])
            if t in self.outputs or len(readers) != 1:
                return None
            call = self.g.calls[readers[0]]
            if not isinstance(call.op, ALIAS):
                return readers[0]
            t = call.outputs[0]

    def _fold(self, into: int, j: int) -> None:
        self.absorbed[j] = into
        self.folded_in.setdefault(into, []).append(j)

    def plan_fusion(self) -> None:
        """Decides which BN / activation / Rescaling calls fold into a neighbour (no op of their own)."""
        for i, call in enumerate(self.g.calls):
            op = call.op
            if i in self.absorbed:
                continue
            j = self.only_reader(call.outputs[0])
            if j is not None and self._fold_neighbour(i, call, j):
                continue
            if isinstance(op, CONV2D + CONV1D + (L.Dense, L.BatchNormalization)) or type(op) in BINARY_OPS:
                self._plan_tail(i, call)
        # W2 (W1 x + b1) + b2: a linear dense layer's bias folds into the next dense layer's bias, when that
        # one keeps its own bias and fuses no activation (so the latest pair of a chain folds first).
        for i in reversed(range(len(self.g.calls))):
            call = self.g.calls[i]
            if not isinstance(call.op, L.Dense) or i in self.absorbed or i in self.fused_act:
                continue
            if activation_name(call.op.activation) != "linear":
                continue
            j = self.only_reader(self.tail_out.get(i, call.outputs[0]))
            nxt = self.g.calls[j].op if j is not None else None
            if isinstance(nxt, L.Dense) and nxt.use_bias and j not in self.fused_act and j not in self.bias_moved:
                self.bias_moved.add(i)

    def _fold_neighbour(self, i: int, call: Any, j: int) -> bool:
        """Folds call `i` and `j`, its only reader, into one op where the converter does; False where it does not."""
        op, nxt = call.op, self.g.calls[j].op
        if isinstance(op, L.BatchNormalization) and isinstance(nxt, L.Dense) and nxt.use_bias:
            self._fold(j, i)  # scale and offset fold into the next dense layer's weights and bias
        elif isinstance(op, L.Rescaling) and isinstance(nxt, CONV2D + (L.Dense,)) and _rescaling_folds(op, nxt):
            self._fold(j, i)
        elif isinstance(op, L.ZeroPadding2D) and isinstance(nxt, CONV2D) and _pad_is_same(op, nxt, call, self.g):
            self.absorbed[i] = j  # the conv pads by itself ("same")
        elif isinstance(op, (L.MaxPooling2D, L.AveragePooling2D)) and act_of(nxt) in ("relu", "relu6"):
            self.absorbed[j] = i  # the quantized range after pooling already clamps
        else:
            return False
        return True

    def _plan_tail(self, i: int, call: Any) -> None:
        """Folds the BatchNormalization and ReLU/ReLU6 that follow an op into it."""
        op = call.op
        own = activation_name(op.activation) if hasattr(op, "activation") else "linear"
        # A 1D conv with one output channel keeps its bias add and BN as separate ADD/MUL ops.
        single_1d = isinstance(op, CONV1D) and self.g.shapes[call.outputs[0]][-1] == 1
        fold_bn = own == "linear" and isinstance(op, CONV2D + CONV1D + (L.Dense,)) and not single_1d
        if own in ("relu", "relu6"):
            self.fused_act[i] = own
        t = call.outputs[0]
        while own == "linear":
            j = self.only_reader(t)
            if j is None:
                break
            nxt = self.g.calls[j].op
            act = act_of(nxt)
            if fold_bn and isinstance(nxt, L.BatchNormalization):
                fold_bn = False
            elif act == "relu" or act == "relu6":
                self.fused_act[i] = own = act
            else:
                break
            self._fold(i, j)
            t = self.tail_out[i] = self.g.calls[j].outputs[0]

    # -- emission --------------------------------------------------------------------------
    def tensor(self, nbytes: int, rank: int, role: str, const: bool = False, scales: int = 1) -> int:
        """Appends a tensor made by the call being lowered; returns its index."""
        self.out.tensors.append(Tensor(int(nbytes), rank, const, scales, self.current, role))
        return len(self.out.tensors) - 1

    def const(self, nbytes: int, rank: int, role: str, scales: int = 0, key: Any = None) -> int:
        """A constant tensor; constants with the same `key` are stored once (the converter deduplicates them)."""
        if key is not None and key in self.shared:
            return self.shared[key]
        tid = self.tensor(nbytes, rank, role, const=True, scales=scales)
        if key is not None:
            self.shared[key] = tid
        return tid

    def emit(self, kind: str, inputs: list[int], shape: tuple[int, ...], role: str = "out", dtype_bytes: int = 1,
             scratch: list[int] | None = None) -> int:  # fmt: skip
        """Appends an op with one output of per-sample `shape` (int8, or int32 shape data when dtype_bytes is 4)."""
        rank = len(shape) + 1 if dtype_bytes == 1 else len(shape)
        out = self.tensor(math.prod(shape) * dtype_bytes, rank, role, scales=1 if dtype_bytes == 1 else 0)
        self.out.ops.append(Op(kind, inputs, [out], scratch or []))
        return out
