"""Which ranked sub-networks become trials: spread over the cost axis, within noise of the front.

Ranking by inherited-weight accuracy alone sends trials where the supernet's
scores peak, and a long-trained supernet's scores saturate: on digits (a
22-epoch supernet, benchmarks/bench_strategies.py) the first Pareto front of
inherited accuracies held only sub-networks under 3.5k MACs, so every trial
was small and the chosen model tested 1.7 and 3.4 points below a 6-epoch
supernet's. A validation score differs from a cheaper one's by less than its
own sampling error often by chance, and a larger sub-network gains more from
fine-tuning than a smaller one. So the trials first take the sub-networks
that no cheaper one beats by more than `tolerance` (a front widened by the
validation score's noise), most accurate first and each next one the
farthest from those taken, so any prefix covers the band; the rest follow
in the reward's order.
"""

from __future__ import annotations

import math

import numpy as np


def binomial_error(accuracy: float, samples: int) -> float:
    """The standard error of an accuracy measured on `samples` examples: sqrt(p (1 - p) / n)."""
    p = min(max(float(accuracy), 0.0), 1.0)
    return math.sqrt(p * (1.0 - p) / max(int(samples), 1))


def within_tolerance(quality: np.ndarray, costs: np.ndarray, tolerance: float) -> np.ndarray:
    """Whether each point is within `tolerance` of the front: no point at most as costly in every cost beats it by more.

    Args:
        quality: shape `(n,)`, larger is better.
        costs: shape `(n, k)`, every cost minimised.
        tolerance: how much better (in quality) a cheaper point must be to rule one out.
    """
    quality = np.asarray(quality, dtype=float)
    costs = np.asarray(costs, dtype=float).reshape(len(quality), -1)
    cheaper = np.all(costs[:, None, :] <= costs[None, :, :], axis=2)  # [i, j]: i costs at most what j costs
    better = quality[:, None] > quality[None, :] + tolerance
    return ~np.any(cheaper & better, axis=0)


def spread(quality: np.ndarray, costs: np.ndarray, tolerance: float) -> list[int]:
    """The points within `tolerance` of the front (`within_tolerance`), in an order that spreads any prefix over it.

    The most accurate point (then the cheapest) comes first; then, each time,
    the point farthest from all those already taken, in the objectives scaled
    to the band's ranges (ties: the more accurate). So the first few reach
    both ends of the band, and each next one fills the widest gap, whether
    that gap is in cost or in quality.
    """
    quality = np.asarray(quality, dtype=float)
    costs = np.asarray(costs, dtype=float).reshape(len(quality), -1)
    band = np.flatnonzero(within_tolerance(quality, costs, tolerance) & np.isfinite(quality))
    if not len(band):
        return []
    points = np.column_stack([quality[band], costs[band]])
    span = points.max(axis=0) - points.min(axis=0)
    points = (points - points.min(axis=0)) / np.where(span > 0, span, 1.0)
    first = min(range(len(band)), key=lambda k: (-quality[band[k]], tuple(costs[band[k]])))
    order = [first]
    gaps = np.linalg.norm(points - points[first], axis=1)
    gaps[first] = -1.0
    for _ in range(len(band) - 1):
        pick = max(np.flatnonzero(gaps == gaps.max()), key=lambda k: quality[band[k]])
        order.append(int(pick))
        gaps = np.minimum(gaps, np.linalg.norm(points - points[pick], axis=1))
        gaps[order] = -1.0
    return [int(band[k]) for k in order]
