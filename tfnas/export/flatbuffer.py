"""Reads a `.tflite` flatbuffer through LiteRT: its ops, input/output quantization and weight zeros; strips its names.

Each reader takes the flatbuffer bytes or an interpreter made by `interpreter`,
so a caller that asks several questions loads the model once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfnas._litert_compat import ops_details
from tfnas.export.micro_ops import TFLM_OPS

# Ops whose input 1 is the weight tensor.
WEIGHTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV")


def interpreter(blob: Any) -> Any:
    """A LiteRT interpreter for reading the model: builtin kernels, no default delegates (no XNNPACK), tensors allocated.

    For reading the flatbuffer only; `tfnas.verify` runs models on its own
    interpreters (reference kernels for outputs, default delegates for latency).
    Given an interpreter rather than bytes, returns it unchanged.
    """
    if not isinstance(blob, (bytes, bytearray)):
        return blob
    from ai_edge_litert import interpreter as litert

    interp = litert.Interpreter(
        model_content=blob, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    interp.allocate_tensors()
    return interp


def op_names(blob: Any) -> list[str]:
    """The op names of the flatbuffer in execution order, repeats kept (e.g. "CONV_2D")."""
    return [op["op_name"] for op in ops_details(interpreter(blob))]


def micro_unsupported(blob: Any) -> dict[str, list[str]]:
    """`{op: [output tensor names]}` for every op TFLite Micro has no kernel for (empty when all run).

    The tensor names carry the Keras layer names, so the caller can say which layer to replace.
    """
    interp = interpreter(blob)
    tensors = {t["index"]: t["name"] for t in interp.get_tensor_details()}
    missing: dict[str, list[str]] = {}
    for op in ops_details(interp):
        if op["op_name"] not in TFLM_OPS:
            missing.setdefault(op["op_name"], []).extend(tensors.get(i, "?") for i in op["outputs"])
    return missing


def io_quantization(blob: Any) -> dict[str, dict[str, Any]]:
    """`{"input": {...}, "output": {...}}` with dtype, shape, scale and zero point of the first input and output."""
    interp = interpreter(blob)
    result = {}
    for key, details in (("input", interp.get_input_details()[0]), ("output", interp.get_output_details()[0])):
        scale, zero_point = details["quantization"]
        result[key] = {
            "dtype": np.dtype(details["dtype"]).name,
            "shape": [int(d) for d in details["shape"]],
            "scale": float(scale),
            "zero_point": int(zero_point),
        }
    return result


def weight_zeros(blob: Any) -> dict[str, tuple[int, int]]:
    """`(exact zeros, size)` of each weight tensor of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED ops, by tensor name.

    Int8 weights are symmetric (zero point 0), so a pruned float zero stays exactly 0 here.
    """
    interp = interpreter(blob)
    names = {t["index"]: t["name"] for t in interp.get_tensor_details()}
    result = {}
    for op in ops_details(interp):
        if op["op_name"] in WEIGHTED_OPS and len(op["inputs"]) > 1:
            index = int(op["inputs"][1])
            try:
                values = interp.get_tensor(index)
            except ValueError:  # not a constant
                continue
            result[names[index]] = (int(np.sum(values == 0)), int(values.size))
    return result


def strip_names(blob: bytes) -> bytes:
    """The flatbuffer without its non-essential strings, to save flash on a microcontroller.

    Drops what LiteRT's `flatbuffer_utils.strip_strings` drops: the model
    description, the subgraph names, the tensor names and the signature defs.
    Ops, weights, quantization and the metadata entries (`min_runtime_version`,
    `CONVERSION_METADATA`) are kept, so LiteRT and TFLite Micro run the result
    exactly as the original. Read names (layer names in error messages, weight
    zeros by tensor) from the original: every tensor name here is "".
    """
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(blob))
    flatbuffer_utils.strip_strings(model)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
