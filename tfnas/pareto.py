"""Pareto geometry: non-dominated sorting, crowding distance and 2-D hypervolume (NSGA-II, Deb et al. 2002).

Plain numpy on arrays of points, every objective minimised. Rewards, oracles,
results and plots all rank with these functions, so they live below all of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def non_dominated_fronts(points: np.ndarray) -> list[list[int]]:
    """Splits points into Pareto fronts; every objective is minimised.

    Args:
        points: array of shape `(n, m)`.

    Returns:
        Lists of row indices: front 0 holds the non-dominated points, front 1
        those dominated only by front 0, and so on.
    """
    points = np.asarray(points, dtype=float)
    n = len(points)
    dominated_by: list[list[int]] = [[] for _ in range(n)]  # i -> points that i dominates
    counts = np.zeros(n, dtype=int)  # how many points dominate i
    for i in range(n):
        le = np.all(points[i] <= points, axis=1)
        lt = np.any(points[i] < points, axis=1)
        dominates = np.flatnonzero(le & lt)
        dominated_by[i] = list(dominates)
        counts[dominates] += 1
    fronts = []
    current = [i for i in range(n) if counts[i] == 0]
    while current:
        fronts.append(current)
        following = []
        for i in current:
            for j in dominated_by[i]:
                counts[j] -= 1
                if counts[j] == 0:
                    following.append(j)
        current = sorted(following)
    return fronts


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """Crowding distance of each point within one front (boundary points get inf)."""
    points = np.asarray(points, dtype=float)
    n, m = points.shape
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, math.inf)
    for k in range(m):
        order = np.argsort(points[:, k], kind="stable")
        span = points[order[-1], k] - points[order[0], k]
        distance[order[0]] = distance[order[-1]] = math.inf
        if span == 0:
            continue
        gaps = (points[order[2:], k] - points[order[:-2], k]) / span
        distance[order[1:-1]] += gaps
    return distance


def hypervolume_2d(points: np.ndarray, reference: Sequence[float]) -> float:
    """Area dominated by 2-D points (both minimised) and bounded by `reference`.

    Points that do not dominate the reference point add nothing.
    """
    ref = np.asarray(reference, dtype=float)
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    pts = pts[np.all(pts < ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]
    area, best_y = 0.0, ref[1]
    for x, y in pts:
        if y < best_y:
            area += (ref[0] - x) * (best_y - y)
            best_y = y
    return float(area)
