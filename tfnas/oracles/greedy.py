"""Coordinate-wise greedy refinement from the best trial so far."""

from __future__ import annotations

from typing import Any

from tfnas.errors import TfnasInputError
from tfnas.oracles.base import MultiObjectiveOracle
from tfnas.oracles.encoding import choices
from tfnas.oracles.encoding import is_tunable


class GreedyOracle(MultiObjectiveOracle):
    """Hill climbing one hyperparameter at a time.

    After `num_initial_points` random trials, every candidate is the best
    trial so far (by the reward's ranking) with exactly one hyperparameter
    changed: coordinates are visited in turn, and for ordered values the
    neighbours of the current value are tried first. When every single
    change of the best trial has been tried and none beat it, it is a local
    optimum and the next candidate is random (a restart).

    Args:
        num_initial_points: int, random trials before refining. Defaults to
            5 (capped at a quarter of `max_trials`).
        **kwargs: the arguments of `MultiObjectiveOracle`.
    """

    def __init__(self, num_initial_points: int = 5, **kwargs: Any):
        super().__init__(**kwargs)
        if num_initial_points < 1:
            raise TfnasInputError(f"num_initial_points must be >= 1. Received: num_initial_points={num_initial_points}")
        if self.max_trials:
            num_initial_points = max(1, min(num_initial_points, self.max_trials // 4))
        self.num_initial_points = num_initial_points

    def propose(self, trial_id: str) -> dict[str, Any] | None:
        done = self.completed_trials()
        if len(done) < self.num_initial_points:
            return self.random_values()
        best = self.rank_trials(done)[0].hyperparameters.values
        for values in self.neighbours(best, start=len(done)):
            if self.is_new(values):
                return values
        return self.random_values()

    def neighbours(self, values: dict[str, Any], start: int = 0) -> list[dict[str, Any]]:
        """Every candidate one change away from `values`, coordinate by coordinate from `start`, nearest values first."""
        hps = self.hyperparameters.copy()
        hps.values = dict(values)
        active = [hp for hp in hps.space if hps.is_active(hp) and is_tunable(hp)]
        out = []
        for k in range(len(active)):
            hp = active[(start + k) % len(active)]
            options = choices(hp)
            here = options.index(values[hp.name]) if values.get(hp.name) in options else 0
            for option in sorted(options, key=lambda v: abs(options.index(v) - here)):
                if option != values.get(hp.name):
                    out.append(self.complete_values({**values, hp.name: option}))
        return out
