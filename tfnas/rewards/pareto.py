"""The Pareto reward: trials ranked by non-dominated front, then crowding distance (NSGA-II)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import numpy as np

from tfnas.errors import TfnasInputError
from tfnas.pareto import crowding_distance
from tfnas.pareto import non_dominated_fronts
from tfnas.rewards.base import Metrics
from tfnas.rewards.base import Reward


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
        if self.quality is None:
            raise TfnasInputError("This reward is not bound to a quality metric yet: call reward.bind(...) first.")
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
            for i, c in zip(front, crowding, strict=True):
                keys[i] = (-float(level), float(c), -float(points[i, 0]))
        return keys

    def config(self) -> dict[str, Any]:
        return {**super().config(), "costs": list(self.costs)}
