"""`tfnas.verify()`: run a `.tflite` file on LiteRT and on TFLite Micro and compare them with the float model."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from tfnas import _compat
from tfnas.cost import profile
from tfnas.errors import MicroRunError
from tfnas.errors import TfnasInputError
from tfnas.export.flatbuffer import micro_unsupported
from tfnas.export.flatbuffer import op_names
from tfnas.metadata.read import read as read_metadata
from tfnas.task import Task
from tfnas.verify.latency import device_latency
from tfnas.verify.litert import dequantize
from tfnas.verify.litert import interpreter
from tfnas.verify.litert import median_latency_ms
from tfnas.verify.litert import quantize_inputs
from tfnas.verify.litert import run_litert
from tfnas.verify.micro import DEFAULT_ARENA
from tfnas.verify.micro import run_micro
from tfnas.verify.normalization import model_inputs
from tfnas.verify.report import VerifyReport


def verify(
    tflite_path: str,
    x: np.ndarray,
    y: np.ndarray,
    *,
    model: Any = None,
    task: str | Task | None = None,
    latency_runs: int = 200,
    arena_size: int = DEFAULT_ARENA,
    timeout: float = 600.0,
    normalization: Any = None,
    device: Any = None,
) -> VerifyReport:
    """Runs a `.tflite` file on LiteRT and TFLite Micro and reports accuracy, agreement, arena and latency.

    Accuracy, outputs, agreement and `max_output_diff` come from LiteRT's
    builtin reference kernels, which round int8 arithmetic like TFLite
    Micro's (its default XNNPACK kernels differ by several int8 steps).
    Latency is timed on LiteRT's default delegates (XNNPACK), as an app runs
    the model.

    Example:

    ```python
    report = tfnas.verify("out/kws.tflite", x_test, y_test, model=float_model)
    report.summary()
    ```

    Args:
        tflite_path: The file (`tfnas.export` writes one).
        x: Float32 inputs, first axis the batch; quantized with the file's
            input scale and zero point for int8 models.
        y: Labels (class ids) or regression targets.
        model: The float Keras model (Keras 3 or tf_keras), for its accuracy
            and, for Keras 3, the cost model's `peak_ram_bytes` and `arena_bytes`.
        task: "classification" or "regression"; inferred from `y` (`Task.resolve`).
        latency_runs: `invoke()` calls timed on LiteRT (default delegates).
        arena_size: Arena given to TFLite Micro (an upper bound).
        timeout: Seconds before the TFLite Micro child process is killed.
        normalization: What verify applies to `x` before the model: None
            (nothing: `x` is what the model takes; raises when `x` lies far
            outside the input range the file's metadata states, e.g. raw
            [0, 255] pixels for a [0, 1] model), "metadata" (the file's
            metadata `(x - mean) / std`, as an app applies it to raw input),
            or `(mean, std)` (raises when it contradicts the file's metadata).
            `model` is run on the normalised `x`.
        device: A `tfnas.latency.DeviceProfile` or the path of its JSON file: the
            file is also timed with the calibration's harness (the profile's
            threads, warm-up and runs) into `latency_ms` and `latency_p95_ms`,
            and with a Keras 3 `model`, `latency_vs_prediction` compares it with
            the profile's prediction. A profile of another quantization than the
            file's is refused.

    Returns:
        A `VerifyReport`. A model TFLite Micro cannot run gives
        `micro_value=None` and the reason in `micro_error`, not an exception.

    Raises:
        TfnasInputError: missing or unreadable file, data that does not fit the
            model, or a normalisation the file's metadata contradicts.
    """
    if not os.path.isfile(tflite_path):
        raise TfnasInputError(f"No .tflite file at {tflite_path!r}: pass the path tfnas.export wrote.")
    with open(tflite_path, "rb") as f:
        blob = f.read()
    try:
        interp = interpreter(tflite_path, kernels="reference")
    except (ValueError, RuntimeError) as e:
        raise TfnasInputError(f"{tflite_path!r} is not a TFLite model LiteRT can load: {e}") from e
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    x, y = np.asarray(x, dtype=np.float32), np.asarray(y)
    if tuple(x.shape[1:]) != tuple(inp["shape"][1:]):
        expected = tuple(int(d) for d in inp["shape"][1:])
        raise TfnasInputError(f"x has samples of shape {tuple(x.shape[1:])}, the model takes {expected}.")
    if len(x) != len(y) or len(x) == 0:
        raise TfnasInputError(f"x and y must hold the same, non-zero number of samples; got {len(x)} and {len(y)}.")
    task = Task.resolve(task, y)
    x, applied = model_inputs(x, meta := read_metadata(tflite_path), normalization, tflite_path)
    timed = None if device is None else device_latency(tflite_path, device, inp["dtype"], model)

    raw_inputs = quantize_inputs(x, inp)
    litert_raw = run_litert(interp, raw_inputs)
    litert_value = task.score(dequantize(litert_raw, out), y)
    missing = micro_unsupported(interp)
    micro, micro_error = _run_micro(blob, raw_inputs, missing, arena_size, timeout)
    predicted, predicted_total = _predicted_arena(model)
    agreement = max_diff = micro_value = None
    if micro is not None:
        micro_value = task.score(dequantize(micro.outputs, out), y)
        max_diff = float(np.max(np.abs(micro.outputs.astype(np.float64) - litert_raw.astype(np.float64))))
        agreement = float(np.mean(task.agree(micro.outputs, litert_raw)))
    return VerifyReport(
        path=tflite_path,
        bytes=len(blob),
        samples=len(x),
        metric=task.metric,
        float_value=None if model is None else task.quality(model, x, y),
        litert_value=litert_value,
        micro_value=micro_value,
        agreement=agreement,
        max_output_diff=max_diff,
        ops=list(dict.fromkeys(op_names(interp))),
        micro_unsupported_ops=sorted(missing),
        arena_head_bytes=None if micro is None else micro.head,
        arena_tail_bytes=None if micro is None else micro.tail,
        arena_total_bytes=None if micro is None else micro.total,
        predicted_peak_ram_bytes=predicted,
        arena_vs_prediction=(micro.head / predicted) if micro and predicted else None,
        litert_latency_ms=median_latency_ms(interpreter(tflite_path, kernels="default"), raw_inputs[0], runs=latency_runs),
        micro_error=micro_error,
        litert_kernels="reference",
        predicted_arena_bytes=predicted_total,
        arena_total_vs_prediction=(micro.total / predicted_total) if micro and predicted_total else None,
        metadata=None if meta is None else meta.to_dict(), normalization=applied,
        **({} if timed is None else dataclasses.asdict(timed)),
    )


def _run_micro(blob: bytes, raw_inputs: Any, missing: Any, arena_size: int, timeout: float) -> tuple[Any, str | None]:
    """TFLite Micro's run of the file (in a child process), or None and why it could not run."""
    if missing:
        return None, f"TFLite Micro has no kernel for {sorted(missing)}"
    try:
        return run_micro(blob, raw_inputs, arena_size=arena_size, timeout=timeout), None
    except MicroRunError as e:
        return None, str(e)


def _predicted_arena(model: Any) -> tuple[int | None, int | None]:
    """The cost model's activation arena and total arena of a Keras 3 model, (None, None) without one."""
    if model is None or not _compat.is_keras3_model(model):
        return None, None
    report = profile(model)
    return int(report.peak_ram_bytes), int(report.arena_bytes)
