"""Runs a `.tflite` model in LiteRT (the TFLite runtime of Android): reference kernels for outputs, default delegates for latency.

LiteRT's default delegates (XNNPACK on CPU) and its optimized kernels round
int8 arithmetic differently from TFLite Micro's reference kernels: their
outputs can differ by many int8 steps (9 on the digits model of the tests, 17
on a peaked softmax). LiteRT's builtin reference kernels agree with TFLite
Micro bit for bit on CONV_2D, DEPTHWISE_CONV_2D, MEAN and SOFTMAX (ai-edge-litert
2.3.0); FULLY_CONNECTED's requantisation LiteRT rounds once and TFLite Micro
twice (gemmlowp's way), so its outputs differ by at most one step, which a
following SOFTMAX can widen to 256 * tanh(scale / 2) steps. Outputs are
compared on those kernels, while latency is timed as an app runs the model.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from tfnas import _compat

KERNELS = ("reference", "default")


def interpreter(path: str, *, kernels: str) -> Any:
    """A LiteRT interpreter on the given kernels, tensors allocated.

    Args:
        path: The `.tflite` file.
        kernels: "reference": LiteRT's builtin reference kernels
            (`OpResolverType.BUILTIN_REF`), which round like TFLite Micro's;
            for outputs and accuracy. "default": the default delegates
            (XNNPACK on CPU), as an app runs the model; for latency.

    Returns:
        An `ai_edge_litert.interpreter.Interpreter`.

    Raises:
        ValueError: `kernels` is not one of `KERNELS`, or LiteRT cannot load the file.
    """
    from ai_edge_litert import interpreter as litert

    if kernels not in KERNELS:
        raise ValueError(f"kernels must be one of {KERNELS}. Received: kernels={kernels!r}")
    resolver = litert.OpResolverType.BUILTIN_REF if kernels == "reference" else litert.OpResolverType.AUTO
    with _compat.stderr_captured():  # XNNPACK's "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        interp = litert.Interpreter(model_path=path, experimental_op_resolver_type=resolver)
        interp.allocate_tensors()
    return interp


def quantize_inputs(x: np.ndarray, details: dict[str, Any]) -> np.ndarray:
    """Float inputs as the model's input tensor takes them (int8 with its scale and zero point, else float)."""
    dtype = np.dtype(details["dtype"])
    scale, zero_point = details["quantization"]
    if dtype.kind in "iu" and scale:
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero_point), info.min, info.max).astype(dtype)
    return np.asarray(x, dtype=dtype)


def dequantize(outputs: np.ndarray, details: dict[str, Any]) -> np.ndarray:
    """Raw outputs as floats (undoing int8 quantization)."""
    scale, zero_point = details["quantization"]
    if np.dtype(details["dtype"]).kind in "iu" and scale:
        return (outputs.astype(np.float32) - zero_point) * scale
    return outputs.astype(np.float32)


def run_litert(interp: Any, inputs: np.ndarray) -> np.ndarray:
    """Raw outputs (model dtype), one flattened row per sample, each sample run as batch 1."""
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    rows = []
    for sample in inputs:
        interp.set_tensor(inp["index"], sample[None, ...])
        interp.invoke()
        rows.append(np.array(interp.get_tensor(out["index"])).reshape(-1))
    return np.stack(rows)


def median_latency_ms(interp: Any, sample: np.ndarray, runs: int = 200, warmup: int = 10) -> float:
    """Median wall time of one `invoke()` in milliseconds, after `warmup` runs."""
    inp = interp.get_input_details()[0]
    interp.set_tensor(inp["index"], sample[None, ...])
    for _ in range(warmup):
        interp.invoke()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        interp.invoke()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def file_macs(path: str) -> int:
    """Multiply-accumulates of one inference of a `.tflite` file, counted from its ops and tensor shapes.

    The same convention as `tfnas.cost.profile`: CONV_2D (output elements x
    kernel height x width x input channels), DEPTHWISE_CONV_2D (output
    elements x kernel height x width) and FULLY_CONNECTED (output elements x
    input features) count; no other op does. It checks a cost target on the
    exported file itself rather than on the model it came from.
    """
    from tfnas._litert_compat import ops_details

    interp = interpreter(path, kernels="reference")
    shapes = {t["index"]: tuple(int(d) for d in t["shape"]) for t in interp.get_tensor_details()}
    total = 0
    for op in ops_details(interp):
        kind, inputs, outputs = op["op_name"], op["inputs"], op["outputs"]
        if kind not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        out, weights = int(np.prod(shapes[outputs[0]])), shapes[inputs[1]]
        per_output = weights[1] * weights[2] if kind == "DEPTHWISE_CONV_2D" else int(np.prod(weights[1:]))
        total += out * per_output
    return total
