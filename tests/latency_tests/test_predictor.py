"""The predictor beats a MACs-proportional fit on held-out micro-models of this machine (a relation, not a value)."""

from __future__ import annotations

import numpy as np
import pytest

from tfnas.cost._kernel_features import FEATURES
from tfnas.cost._latency_fit import KernelRegressor
from tfnas.cost.latency import training_data
from tfnas.latency import sampling
from tfnas.latency.calibration import calibrate
from tfnas.latency.kernels import write_kernels
from tfnas.latency.measure import measure

KINDS = ["CONV_2D", "DEPTHWISE_CONV_2D"]


def _macs_fit(x: np.ndarray, y: np.ndarray) -> float:
    """ms per MAC minimising the relative squared error: sum(m/y) / sum(m^2/y^2)."""
    m = x[:, FEATURES.index("macs")]
    return float(np.sum(m / y) / np.sum(m**2 / y**2))


@pytest.mark.slow
def test_predictor_beats_macs_on_held_out_kernels(tmp_path):
    profile = calibrate(
        None,
        threads=1,
        budget_s=0,
        kernels=KINDS,
        initial=40,
        runs=10,
        directory=str(tmp_path / "cal"),
    )
    held_out = sampling.specs(KINDS, 12, np.random.default_rng(12345), start=10_000)
    write_kernels(held_out, str(tmp_path / "test"))
    rows = measure(str(tmp_path / "test"), threads=1, runs=10, warmup=3)
    for kind in KINDS:
        test = [r for r in rows if r["kind"] == kind]
        x = np.array([[r["f_" + name] for name in FEATURES] for r in test])
        y = np.array([r["ms"] for r in test])
        ours = np.abs(profile.regressor(kind).predict(x) / y - 1)
        per_mac = _macs_fit(*training_data(profile.samples[kind]))
        baseline = np.abs(x[:, FEATURES.index("macs")] * per_mac / y - 1)
        assert np.median(ours) < np.median(baseline), kind


def test_regressor_is_deterministic_and_fits_its_samples():
    rng = np.random.default_rng(0)
    x = np.abs(rng.normal(size=(40, len(FEATURES)))) * 1e5
    y = 0.01 + x[:, FEATURES.index("macs32")] * 2e-7 + x[:, FEATURES.index("out_bytes")] * 1e-7
    first, second = KernelRegressor().fit(x, y), KernelRegressor().fit(x, y)
    assert np.array_equal(first.predict(x), second.predict(x))
    assert np.median(np.abs(first.predict(x) / y - 1)) < np.median(np.abs(y / np.median(y) - 1))
