"""Fixtures of the latency tests: a folder of small micro-models, one of every kernel type, written once."""

from __future__ import annotations

import pytest

from tfnas.latency import sampling
from tfnas.latency.kernels import write_kernels

# One small shape per kernel type: every op the spaces produce, converted in a few seconds in all.
SMALL = {
    "CONV_2D": {
        "h": 8,
        "w": 8,
        "cin": 3,
        "cout": 8,
        "kh": 3,
        "kw": 3,
        "stride": 2,
        "padding": "same",
        "act": "relu",
    },
    "DEPTHWISE_CONV_2D": {
        "h": 8,
        "w": 8,
        "cin": 12,
        "cout": 12,
        "kh": 3,
        "kw": 3,
        "stride": 1,
        "padding": "same",
        "act": "relu6",
    },
    "FULLY_CONNECTED": {"cin": 20, "cout": 10, "act": None},
    "ADD": {"h": 4, "w": 4, "cin": 8},
    "MUL": {"h": 4, "w": 4, "cin": 8, "broadcast": True},
    "MEAN": {"h": 4, "w": 4, "cin": 8},
    "AVERAGE_POOL_2D": {
        "h": 8,
        "w": 8,
        "cin": 4,
        "pool": 2,
        "stride": 2,
        "padding": "valid",
    },
    "MAX_POOL_2D": {
        "h": 8,
        "w": 8,
        "cin": 4,
        "pool": 2,
        "stride": 2,
        "padding": "same",
    },
    "RESHAPE": {"h": 4, "w": 4, "cin": 8},
    "SOFTMAX": {"cin": 10},
    "HARD_SWISH": {"h": 4, "w": 4, "cin": 8},
    "LOGISTIC": {"h": 4, "w": 4, "cin": 8},
    "RELU": {"h": 4, "w": 4, "cin": 8},
    "RELU6": {"h": 4, "w": 4, "cin": 8},
    "CONCATENATION": {"h": 4, "w": 4, "cin": 8, "cin2": 5},
    "PAD": {"h": 4, "w": 4, "cin": 8, "pad": 1},
    # a 1D conv as the converter runs it: a 1x5 kernel striding along time on a (1, T, C) map
    "CONV_1D": {
        "h": 1,
        "w": 32,
        "cin": 4,
        "cout": 8,
        "kh": 1,
        "kw": 5,
        "stride": 2,
        "padding": "same",
        "act": None,
    },
    sampling.OVERHEAD: {"cin": 1, "cout": 1},
}


def small_specs() -> list[sampling.Spec]:
    """The `SMALL` micro-models as specs (the 1D conv is a CONV_2D)."""
    specs = []
    for i, (name, params) in enumerate(SMALL.items()):
        kind = "CONV_2D" if name == "CONV_1D" else name
        specs.append(sampling.Spec(kind, {"kind": kind, **params}, f"{name.lower()}_{i:05d}.tflite"))
    return specs


@pytest.fixture(scope="session")
def small() -> dict:
    """The layer parameters of the small micro-models, by kernel type."""
    return SMALL


@pytest.fixture(scope="session")
def kernel_dir(tmp_path_factory) -> str:
    """A kernel folder (micro-models and manifest) with one small micro-model of every kernel type."""
    folder = str(tmp_path_factory.mktemp("kernels"))
    write_kernels(small_specs(), folder)
    return folder


@pytest.fixture(scope="session")
def device_path(kernel_dir, tmp_path_factory) -> str:
    """A device profile of this machine (one small micro-model of every kernel type, this LiteRT), saved as JSON."""
    from tfnas.cost.device import installed_litert_version
    from tfnas.cost.latency import DeviceProfile
    from tfnas.latency.calibration import add_rows
    from tfnas.latency.measure import measure

    profile = DeviceProfile("test", "cpu", installed_litert_version(), threads=1)
    add_rows(profile, measure(kernel_dir, threads=1, runs=3, warmup=1))
    path = str(tmp_path_factory.mktemp("device") / "phone.json")
    profile.save(path)
    return path
