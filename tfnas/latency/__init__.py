"""On-device latency: single-kernel micro-models, timing them on the device, and fitting a `DeviceProfile`.

Measuring is kept apart from predicting (as nn-Meter does): `measure` runs
on the device with only LiteRT and numpy; `kernels` and `calibrate` need
TensorFlow and run on the workstation; the profile and the predictor live in
`tfnas.cost.latency`. The names below are imported on first use (PEP 562),
so `python -m tfnas.latency.measure` never imports TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DeviceProfile": "tfnas.cost.latency",
    "calibrate": "tfnas.latency.calibration",
    "profile_from_csv": "tfnas.latency.calibration",
    "write_kernel_set": "tfnas.latency.calibration",
    "parse_benchmark_output": "tfnas.latency.benchmark_output",
}
__all__ = ["DeviceProfile", "calibrate", "parse_benchmark_output", "profile_from_csv", "write_kernel_set"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tfnas.latency' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
