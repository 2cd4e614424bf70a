"""TFLite Micro's persistent arena ("tail"), predicted from the int8 TFLite graph.

Besides the activations its memory planner lays out (the "head",
`_memory.py`), TFLite Micro keeps structures that live as long as the
interpreter at the tail of the same arena
(tensorflow/lite/micro/micro_allocator.cc, recording_micro_allocator.cc):

* one `TfLiteEvalTensor` per tensor of the flatbuffer, constants included
  (24 bytes on a 64-bit host);
* one `NodeAndRegistration` per op (64 bytes);
* one persistent `TfLiteTensor` plus its quantization (`TfLiteAffineQuantization`
  and zero-point array) per graph input and output (64 + 32 bytes);
* per-channel requantization of CONV_2D, DEPTHWISE_CONV_2D and
  FULLY_CONNECTED: an int32 multiplier and an int32 shift per output
  channel, each array padded to 16 bytes (`AllocatePersistentBuffer`);
* per op, its kernel's `OpData` (allocated in `Init`) and the builtin options
  the flatbuffer's parser allocates, which depend only on the op kind
  (`OP_BYTES`);
* fixed bookkeeping: the allocator, memory planner and subgraph objects.

The struct sizes are what TFLite Micro's `RecordingMicroAllocator` reports
(`tfnas.verify` runs the Python `tflite_micro` interpreter on the host);
`OP_BYTES` and `FIXED_BYTES` were fitted by non-negative least squares on
measured arenas (`python benchmarks/bench_cost.py --calibrate N`). A 32-bit
microcontroller has smaller pointers, so its persistent part is somewhat
smaller than this estimate.
"""

from __future__ import annotations

from tfnas.cost._tflite_graph import Lowered

EVAL_TENSOR_BYTES = 24  # sizeof(TfLiteEvalTensor)
NODE_BYTES = 64  # sizeof(NodeAndRegistration)
IO_TENSOR_BYTES = 64 + 32  # persistent TfLiteTensor + TfLiteAffineQuantization and its zero-point array
PER_CHANNEL_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"})
ALIGNMENT = 16

# Bytes per op of each kind beyond its NodeAndRegistration and per-channel arrays (kernel OpData + builtin
# options), and the fixed bookkeeping; fitted by NNLS, see the module docstring.
# Fit on 11 zoo models, 3 Keras Applications, 72 random models of tfnas's spaces and 10 activation/merge probes;
# residual within 1.1% of the measured tail on each. SUB, MINIMUM and MAXIMUM appear together only, so they take
# the default.
FIXED_BYTES = 520.8
OP_BYTES: dict[str, float] = {
    "ADD": 69.7, "AVERAGE_POOL_2D": 69.2, "CONCATENATION": 106.2, "CONV_2D": 108.2, "DEPTHWISE_CONV_2D": 108.0,
    "ELU": 491.7, "FULLY_CONNECTED": 112.0, "HARD_SWISH": 29.6, "LEAKY_RELU": 37.6, "LOGISTIC": 14.9,
    "MAX_POOL_2D": 75.9, "MEAN": 72.2, "MUL": 56.8, "PAD": 57.9, "REDUCE_MAX": 61.7, "RESHAPE": 36.9,
    "SOFTMAX": 86.3, "TANH": 13.6,
}  # fmt: skip
DEFAULT_OP_BYTES = 70.0  # a kind never measured: about the median of the measured ones


def _align(nbytes: int) -> int:
    return -(-nbytes // ALIGNMENT) * ALIGNMENT


def known_bytes(graph: Lowered) -> int:
    """The persistent bytes whose size is known exactly: struct per tensor, per op, per graph I/O, per channel."""
    channels = sum(
        2 * _align(4 * graph.tensors[op.inputs[1]].scales)
        for op in graph.ops
        if op.kind in PER_CHANNEL_OPS and len(op.inputs) > 1
    )
    io = len(graph.inputs) + len(graph.outputs)
    return EVAL_TENSOR_BYTES * len(graph.tensors) + NODE_BYTES * len(graph.ops) + IO_TENSOR_BYTES * io + channels


def op_kinds(graph: Lowered) -> dict[str, int]:
    """How many ops of each kind the graph has."""
    counts: dict[str, int] = {}
    for op in graph.ops:
        counts[op.kind] = counts.get(op.kind, 0) + 1
    return counts


def persistent_arena_bytes(graph: Lowered) -> int:
    """Predicted persistent ("tail") TFLite Micro arena bytes of the predicted int8 graph."""
    per_kind = sum(OP_BYTES.get(kind, DEFAULT_OP_BYTES) * n for kind, n in op_kinds(graph).items())
    return int(round(FIXED_BYTES + known_bytes(graph) + per_kind))
