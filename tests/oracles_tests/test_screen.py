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


def _stages_draw(rng):
    # a conditional space like MobileNet's: stage i's hyperparameters exist only when num_stages >= i
    v = {"stem": int(rng.choice([8, 16])), "num_stages": int(rng.choice([1, 2, 3])), "lr": float(rng.choice([1e-3, 3e-3, 1e-2]))}
    for i in range(1, v["num_stages"] + 1):
        v[f"filters{i}"] = int(rng.choice([8, 16, 32, 48, 64]))
        v[f"kernel{i}"] = int(rng.choice([3, 5]))
        v[f"stride{i}"] = int(rng.choice([1, 2]))
    return v


def _stages_macs(v):
    # a sum over stages (not a product): log-cost is not linear in the one-hot values
    macs, channels, size = 64.0 * 9 * v["stem"], v["stem"], 16.0
    for i in range(1, v["num_stages"] + 1):
        size /= v[f"stride{i}"] ** 2
        macs += size * channels * v[f"filters{i}"] + size * v[f"filters{i}"] * v[f"kernel{i}"] ** 2
        channels = v[f"filters{i}"]
    return macs


def test_screen_fitted_on_as_many_features_as_samples_skips_no_feasible_candidate():
    # With ~30 samples and ~30 one-hot features the least-squares fit is nearly exact on its own samples:
    # a margin from its training error would vanish and the screen would skip candidates that meet the limit.
    limit = 8_000  # about 1 draw in 10 meets it
    skipped_feasible = feasible = 0
    for seed in range(5):
        rng = np.random.default_rng(seed)
        screen = CostScreen({"macs": limit})
        for _ in range(30):
            v = _stages_draw(rng)
            screen.observe(v, {"macs": _stages_macs(v)})
        for _ in range(300):
            v = _stages_draw(rng)
            ok = _stages_macs(v) <= limit
            feasible += ok
            skipped_feasible += ok and screen.likely_infeasible(v)
    assert feasible > 100
    assert skipped_feasible / feasible < 0.02


def test_margin_is_the_error_on_unseen_candidates_not_the_training_error():
    # 30 samples, 36 one-hot features: the fit reproduces its own samples almost exactly, so the training
    # error says nothing about how far off a prediction for a new candidate is.
    rng = np.random.default_rng(0)
    screen = CostScreen({"macs": 8_000})
    for _ in range(30):
        v = _stages_draw(rng)
        screen.observe(v, {"macs": _stages_macs(v)})
    index, weights, spread = screen._fit()
    fresh = [_stages_draw(rng) for _ in range(300)]
    errors = [screen._encode(v, index) @ weights["macs"] - math.log1p(_stages_macs(v)) for v in fresh]
    actual = float(np.sqrt(np.mean(np.square(errors))))
    assert 0.5 * actual <= spread["macs"] <= 2.0 * actual
