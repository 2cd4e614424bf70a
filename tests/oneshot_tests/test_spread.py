"""`tfnas.oneshot.spread`: which ranked sub-networks become trials, and in what order."""

from __future__ import annotations

import keras_tuner
import numpy as np
import pytest

from tfnas.oneshot.rank import Ranked
from tfnas.oneshot.spread import binomial_error
from tfnas.oneshot.spread import spread
from tfnas.oneshot.spread import within_tolerance
from tfnas.oracles import OneShotOracle
from tfnas.pareto import non_dominated_fronts

# (accuracy, MACs): a front that saturates at 0.95 from 300 MACs; the costlier ones score a little lower
QUALITY = np.array([0.50, 0.90, 0.95, 0.94, 0.945, 0.93, 0.80, 0.40])
MACS = np.array([100, 200, 300, 1000, 2000, 3000, 5000, 150])


def test_without_tolerance_the_band_is_the_pareto_front():
    rng = np.random.default_rng(0)
    quality, costs = rng.random(60), rng.random((60, 2))
    band = set(np.flatnonzero(within_tolerance(quality, costs, 0.0)))
    assert band == set(non_dominated_fronts(np.column_stack([-quality, costs]))[0])


def test_tolerance_keeps_costlier_points_within_it_of_the_front():
    costs = MACS[:, None]
    assert list(np.flatnonzero(within_tolerance(QUALITY, costs, 0.0))) == [0, 1, 2]
    # within 2 points of the 0.95 at 300 MACs: 0.94, 0.945 and 0.93; 0.80 and 0.40 are beaten by more
    assert list(np.flatnonzero(within_tolerance(QUALITY, costs, 0.02))) == [0, 1, 2, 3, 4, 5]


def test_spread_starts_at_the_most_accurate_then_covers_both_ends_then_fills_gaps():
    order = spread(QUALITY, MACS[:, None], 0.02)
    assert sorted(order) == [0, 1, 2, 3, 4, 5]  # the band, each once
    assert order[0] == 2  # the most accurate
    assert set(order[1:3]) == {0, 5}  # the cheapest (and least accurate) and the costliest end of the band
    # without tolerance the costly ones never come first: the front is all under 300 MACs
    assert sorted(spread(QUALITY, MACS[:, None], 0.0)) == [0, 1, 2]


def test_binomial_error():
    assert binomial_error(0.9, 100) == pytest.approx(0.03)
    assert binomial_error(1.0, 50) == 0.0


def ranked(quality: float, macs: int, blocks: int) -> Ranked:
    return Ranked({"num_blocks": blocks, "filters": macs}, {"macs": float(macs)}, quality, 0.0)


@pytest.mark.parametrize("tolerance, costly_first", [("auto", True), (None, False)])
def test_oracle_order_spreads_over_the_widened_front_unless_tolerance_is_none(tolerance, costly_first):
    oracle = OneShotOracle(objective=keras_tuner.Objective("val_accuracy", "max"), max_trials=10,
                           supernet_epochs=1, tolerance=tolerance)
    oracle.adopt(epochs=2)
    oracle.validation_samples = 400  # sampling error of 0.95 on 400: 1.1 points
    candidates = [ranked(q, m, i) for i, (q, m) in enumerate(zip(QUALITY, MACS, strict=True))]
    order = [values["num_blocks"] for values in oracle._order(candidates)]
    assert sorted(order) == list(range(len(QUALITY)))  # every feasible sub-network, once
    if costly_first:  # band: within 1.1 points of 0.95 (0.94 at 1000 and 0.945 at 2000 MACs)
        assert order[:3] == [2, 0, 4] and set(order[3:5]) == {1, 3}
    else:  # the reward's order: the front (100, 200, 300 MACs) before anything costlier
        assert set(order[:3]) == {0, 1, 2}
