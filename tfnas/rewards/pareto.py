"""Pareto ranking: non-dominated sorting, crowding distance and hypervolume (NSGA-II, Deb et al. 2002)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import numpy as np

from tfnas.rewards.base import Metrics
from tfnas.rewards.base import Reward
from tfnas.errors import TfnasInputError


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
    dominated_by = [[] for _ in range(n)]  # i -> points that i dominates
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


class Pareto(Reward):
    """Ranks trials by non-dominated sorting, then crowding distance (NSGA-II).

    There is no single number for "better" between two models on the front;
    `rank` orders a population by front, then by crowding distance (spread
    along the front), then by quality. The per-trial value (`__call__`) is the
    quality metric, so the "best" trial is the most accurate one on the front.

    Example:

    ```python
    reward = Pareto(costs=("macs",))  # accuracy vs MACs
    reward = Pareto(costs=("macs", "peak_ram_bytes"))  # three objectives
    ```

    Args:
        costs: tuple of str, cost metrics to minimise. Defaults to `("macs",)`.
        quality: str, quality metric. Defaults to the search's.
        direction: str, direction of the quality metric.
    """

    def __init__(self, costs: Sequence[str] = ("macs",), quality: str | None = None, direction: str | None = None):
        super().__init__(quality, direction)
        if isinstance(costs, str) or not costs:
            raise TfnasInputError(f"costs must be a non-empty tuple of metric names. Received: costs={costs!r}")
        self.costs = tuple(costs)

    def __call__(self, metrics: Metrics) -> float:
        return self.quality_value(metrics)

    def objectives(self, metrics: Metrics) -> list[float]:
        """The point of one trial in objective space, every coordinate minimised."""
        quality = float(metrics[self.quality])
        return [-quality if self.direction == "max" else quality] + [float(metrics[c]) for c in self.costs]

    def rank(self, population: Sequence[Mapping[str, float]]) -> list[tuple[float, ...]]:
        if not population:
            return []
        points = np.array([self.objectives(m) for m in population], dtype=float)
        points = np.where(np.isnan(points), math.inf, points)
        keys: list[tuple[float, ...]] = [()] * len(population)
        for level, front in enumerate(non_dominated_fronts(points)):
            crowding = crowding_distance(points[front])
            for i, c in zip(front, crowding):
                keys[i] = (-float(level), float(c), -float(points[i, 0]))
        return keys

    def config(self) -> dict[str, Any]:
        return {**super().config(), "costs": list(self.costs)}
