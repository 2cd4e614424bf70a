"""The cost screen skips clearly infeasible draws and never a feasible one it can tell apart."""

import math

import numpy as np

from tfnas.oracles.screen import CostScreen


def _macs(v):
    # a multiplicative cost, like MACs of a conv net: filters x kernel^2 x (1 / stride^2) x blocks
    return 50.0 * v["filters"] * v["kernel"] ** 2 * v["blocks"] / v["stride"] ** 2


def _draw(rng):
    return {
        "filters": int(rng.choice([8, 16, 32, 64])),
        "kernel": int(rng.choice([3, 5])),
        "blocks": int(rng.choice([1, 2, 3])),
        "stride": int(rng.choice([1, 2])),
        "lr": float(rng.choice([1e-3, 1e-2])),
    }


def test_screen_waits_for_samples_then_skips_only_clear_violations():
    rng = np.random.default_rng(0)
    limit = 20_000
    screen = CostScreen({"macs": limit}, min_samples=20)
    first = _draw(rng)
    assert not screen.likely_infeasible({**first, "filters": 64, "kernel": 5, "blocks": 3, "stride": 1})
    for _ in range(40):
        v = _draw(rng)
        screen.observe(v, {"macs": _macs(v)})
    skipped_feasible = skipped_far = far = 0
    for _ in range(500):
        v = _draw(rng)
        cost = _macs(v)
        flagged = screen.likely_infeasible(v)
        skipped_feasible += flagged and cost <= limit
        if cost > 4 * limit:
            far += 1
            skipped_far += flagged
    assert skipped_feasible == 0
    assert far > 30 and skipped_far / far > 0.8  # most draws 4x over the limit cost no build


def test_screen_without_limits_never_skips():
    screen = CostScreen({}, min_samples=1)
    screen.observe({"a": 1}, {})
    assert not screen.likely_infeasible({"a": 1})


def test_unseen_values_fall_back_to_the_intercept():
    screen = CostScreen({"macs": 10}, min_samples=2, margin=2.0)
    for units in (1, 2, 3, 4):
        screen.observe({"units": units}, {"macs": 1000.0})
    assert math.isfinite(screen._fit()[2]["macs"])
    assert screen.likely_infeasible({"units": 99})  # every sample so far was 100x over the limit
