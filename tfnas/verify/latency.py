"""Measured against predicted latency: a `.tflite` file timed as its device profile's micro-models were.

`tfnas.verify(path, x, y, device=...)` uses it. The file is timed with the
calibration's own harness (`tfnas.latency.measure.time_model`: LiteRT's default
delegates, the profile's threads, warm-up, runs and blocks), so the measured latency is
comparable with the prediction, which comes from the same profile and the
float Keras model's int8 graph (`tfnas.cost.profile(model, device=...)`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tfnas import _compat
from tfnas.cost import profile
from tfnas.cost.device import load_device
from tfnas.errors import TfnasInputError
from tfnas.latency.measure import time_model


@dataclasses.dataclass(frozen=True)
class DeviceLatency:
    """A file's latency measured with a device profile's harness, and the profile's prediction.

    Attributes:
        latency_ms: Milliseconds of one `invoke()`: the fastest block's median, as the profile measured
            its micro-models (the median of all runs for profiles without blocks).
        latency_p95_ms: The 95th percentile of all runs.
        predicted_latency_ms: The profile's prediction for the Keras model given, or None.
        latency_vs_prediction: latency_ms / predicted_latency_ms, or None.
        threads: The interpreter threads (the profile's).
    """

    latency_ms: float
    latency_p95_ms: float
    predicted_latency_ms: float | None
    latency_vs_prediction: float | None
    threads: int


def device_latency(path: str, device: Any, input_dtype: Any, model: Any = None) -> DeviceLatency:
    """Times `path` with the profile's harness and compares the latency with the prediction for `model`.

    Args:
        path: The `.tflite` file.
        device: A `DeviceProfile` or the path of its JSON file.
        input_dtype: The dtype of the file's input (int8 or uint8 for a full-integer file).
        model: The float Keras 3 model the file was exported from, for the prediction; None: no prediction.

    Raises:
        TfnasInputError: the profile is unreadable, or was calibrated at another quantization than the file's.
    """
    quantization = "int8" if np.dtype(input_dtype) in (np.int8, np.uint8) else "float"
    profile_ = load_device(device, quantization=quantization, purpose=f"the file {path!r}")
    if profile_ is None:
        raise TfnasInputError("device must be a DeviceProfile or the path of its JSON file. Received: None")
    timing = time_model(path, profile_.threads, profile_.runs, profile_.warmup, blocks=profile_.blocks)
    predicted = None
    if model is not None and _compat.is_keras3_model(model):
        predicted = profile(model, device=profile_).latency_ms
    return DeviceLatency(
        latency_ms=timing["ms"],
        latency_p95_ms=timing["p95"],
        predicted_latency_ms=predicted,
        latency_vs_prediction=timing["ms"] / predicted if predicted else None,
        threads=profile_.threads,
    )
