"""Size of the full-int8 `.tflite` file, estimated from the predicted TFLite graph.

A `.tflite` file is a flatbuffer: the constant data (int8 weights, int32
biases and shape vectors, each padded to 16 bytes), then tables for every
tensor (shape, name string, quantization scales as float32 and zero points as
int64 per channel), every operator (input/output index vectors, options) and
every operator code, plus fixed parts (signature, metadata, description).
The estimate is the constant data plus a linear model of those tables over
counts of the predicted graph; its coefficients were fitted by non-negative
least squares on real conversions (`tfnas.export.convert`: batch-1 input
signature, full int8, int8 input/output) of the cost zoo plus 60 random
CNN/DS-CNN/MLP models, see benchmarks/bench_cost.py for the errors.
"""

from __future__ import annotations

from tfnas.cost._tflite_graph import Lowered

# Non-negative least-squares fit (bytes per unit) by `python benchmarks/bench_cost.py --calibrate 60`: the 11 zoo
# models and 60 random CNN / DS-CNN / MLP models with trained-like weights, converted for real with a batch-1
# signature. A scale is a float32 scale plus an int64 zero point (12 bytes); a name byte is one byte. The tensor
# counts came out 0: they move with the op and op input/output counts, which carry their cost. Relative error of
# the estimate on those 71 models: mean 1.4%, max 7.3%.
COEFFICIENTS = {
    "fixed": 411.6,
    "tensor": 0.0,
    "const_tensor": 0.0,
    "op": 71.0,
    "opcode": 45.1,
    "scale": 12.2,
    "dim": 9.4,
    "op_io": 24.4,
    "name_byte": 1.1,
}


def _pad(n: int, to: int) -> int:
    return -(-n // to) * to


def features(graph: Lowered) -> dict[str, int]:
    """Counts of the predicted flatbuffer that its size is linear in (constant data apart)."""
    tensors = graph.tensors
    return {
        "fixed": 1,
        "tensor": len(tensors),
        "const_tensor": sum(1 for t in tensors if t.const),
        "op": len(graph.ops),
        "opcode": len({op.kind for op in graph.ops}),
        "scale": sum(t.scales for t in tensors),
        "dim": sum(t.rank for t in tensors) + sum(t.rank for t in tensors if not t.const),
        "op_io": sum(len(op.inputs) + len(op.outputs) for op in graph.ops),
        "name_byte": sum(_pad(t.name + 1, 4) for t in tensors),
    }


def constant_bytes(graph: Lowered) -> int:
    """Bytes of constant data: each buffer padded to 16 bytes, plus its 4-byte length."""
    return sum(_pad(t.nbytes, 16) + 4 for t in graph.tensors if t.const)


def tflite_bytes(graph: Lowered) -> int:
    """Estimated size in bytes of the full-int8 `.tflite` file of the predicted graph."""
    counts = features(graph)
    tables = sum(COEFFICIENTS[k] * v for k, v in counts.items())
    return int(round(constant_bytes(graph) + tables))
