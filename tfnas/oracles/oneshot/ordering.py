"""Ordering the one-shot oracle's trials: which ranked sub-networks are proposed first, and the probes of training hps.

For a `Pareto` reward with a tolerance, the front widened by it comes first,
spread over it (`tfnas.oneshot.spread`), then the rest by the reward; the
"auto" tolerance is the sampling error of the best inherited accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import keras_tuner as kt
import numpy as np

from tfnas.oneshot.rank import Ranked
from tfnas.oneshot.spread import binomial_error
from tfnas.oneshot.spread import spread
from tfnas.rewards import Pareto

__all__ = ["nearest_choice", "order_trials", "probes", "tolerance_of"]


def order_trials(ranked: Sequence[Ranked], reward: Any, objective: str, tolerance: float | None) -> list[dict[str, Any]]:
    """The feasible sub-networks' values: for a `Pareto` reward with a `tolerance`, first the front widened by
    it, spread (`tfnas.oneshot.spread`); then the rest best first by the reward (for `Pareto`: the front first)."""
    feasible = [r for r in ranked if r.feasible]
    points = [r.metrics(objective) for r in feasible]
    keys = reward.rank(points)
    order = sorted(range(len(feasible)), key=lambda i: keys[i], reverse=True)
    if isinstance(reward, Pareto) and tolerance is not None and feasible:
        objectives = np.array([reward.objectives(p) for p in points], dtype=float)
        head = spread(-objectives[:, 0], objectives[:, 1:], tolerance)
        taken = set(head)
        order = head + [i for i in order if i not in taken]
    return [dict(feasible[i].values) for i in order]


def tolerance_of(
    tolerance: float | str | None, objective: kt.Objective, ranked: Sequence[Ranked], validation_samples: int
) -> float | None:
    """`tolerance`; for "auto", the sampling error of the best feasible inherited accuracy on the validation
    set (0 for an objective that is not an accuracy)."""
    if not isinstance(tolerance, str):  # a number or None; the only string is "auto"
        return tolerance
    feasible = [r for r in ranked if r.feasible]
    if objective.direction != "max" or "acc" not in objective.name or not feasible:
        return 0.0
    return binomial_error(max(r.score for r in feasible if r.score is not None), validation_samples)


def probes(top: Mapping[str, Any], names: Sequence[str], choices: Callable[[str], tuple]) -> list[dict[str, Any]]:
    """`top` once with every choice of each hp of `names` (the others as in `top`), without repeats."""
    found: list[dict[str, Any]] = []
    for name in names:
        for value in choices(name):
            if {**top, name: value} not in found:
                found.append({**top, name: value})
    return found


def nearest_choice(rate: float, choices: Sequence[float]) -> float:
    """The choice nearest `rate` on a log scale (a fine-tune's learning rate: the supernet's, as the space allows)."""
    return min(choices, key=lambda v: abs(math.log(v / rate)))
