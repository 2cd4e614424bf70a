"""Pareto logic on hand-made points."""

import math

import numpy as np
import pytest

from tfnas.pareto import crowding_distance
from tfnas.pareto import hypervolume_2d
from tfnas.pareto import non_dominated_fronts
from tfnas.rewards import Pareto


def test_fronts_of_hand_made_points():
    # (error, macs), both minimised.
    points = np.array([[0.1, 100], [0.2, 50], [0.15, 120], [0.3, 40], [0.25, 60], [0.1, 100]])
    fronts = non_dominated_fronts(points)
    assert sorted(fronts[0]) == [0, 1, 3, 5]  # equal points do not dominate each other
    assert sorted(fronts[1]) == [2, 4]
    assert sum(len(f) for f in fronts) == len(points)


def test_crowding_distance_boundaries_infinite_and_interior_ordered():
    front = np.array([[0.0, 10.0], [1.0, 5.0], [1.5, 4.5], [4.0, 0.0]])
    d = crowding_distance(front)
    assert math.isinf(d[0]) and math.isinf(d[3])
    # point 1's neighbours span (0->1.5)/4 + (10->4.5)/10 = 0.375 + 0.55; point 2's (1->4)/4 + (5->0)/10 = 0.75 + 0.5
    assert d[1] == pytest.approx(0.925)
    assert d[2] == pytest.approx(1.25)


def test_hypervolume_2d_by_hand():
    ref = (1.0, 100.0)
    assert hypervolume_2d([[0.5, 50.0]], ref) == pytest.approx(0.5 * 50)
    # two staircase points: [0.2,80] and [0.6,20] -> 0.8*20 + 0.4*60
    assert hypervolume_2d([[0.2, 80.0], [0.6, 20.0]], ref) == pytest.approx(0.8 * 20 + 0.4 * 60)
    # a dominated point and a point outside the reference add nothing
    assert hypervolume_2d([[0.2, 80.0], [0.6, 20.0], [0.7, 90.0], [1.5, 1.0]], ref) == pytest.approx(40.0)
    assert hypervolume_2d([], ref) == 0.0


def test_pareto_rank_puts_front_first_and_best_is_most_accurate():
    reward = Pareto().bind("val_accuracy", "max")
    population = [
        {"val_accuracy": 0.90, "macs": 1000},  # front
        {"val_accuracy": 0.80, "macs": 2000},  # dominated by 0
        {"val_accuracy": 0.97, "macs": 5000},  # front, most accurate
        {"val_accuracy": 0.85, "macs": 500},  # front, cheapest
        {"val_accuracy": 0.70, "macs": 6000},  # dominated twice
    ]
    keys = reward.rank(population)
    order = sorted(range(len(population)), key=lambda i: keys[i], reverse=True)
    assert set(order[:3]) == {0, 2, 3}
    assert order[0] == 2  # boundary of the front (inf crowding), most accurate
    assert order[-1] == 4
    assert reward(population[2]) == pytest.approx(0.97)


def test_pareto_with_min_quality_and_extra_cost():
    reward = Pareto(costs=("macs", "peak_ram_bytes")).bind("val_loss", "min")
    a = {"val_loss": 0.1, "macs": 10, "peak_ram_bytes": 100}
    b = {"val_loss": 0.1, "macs": 10, "peak_ram_bytes": 50}  # dominates a on RAM only
    keys = reward.rank([a, b])
    assert keys[1] > keys[0]
    assert reward.objectives(a) == [0.1, 10.0, 100.0]


def test_nan_quality_sorts_last():
    reward = Pareto().bind("val_accuracy", "max")
    keys = reward.rank([{"val_accuracy": float("nan"), "macs": 1}, {"val_accuracy": 0.5, "macs": 100}])
    assert keys[1] > keys[0]
