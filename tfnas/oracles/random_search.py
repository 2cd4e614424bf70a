"""Constraint-aware random search."""

from __future__ import annotations

from typing import Any

from tfnas.oracles.base import MultiObjectiveOracle


class RandomOracle(MultiObjectiveOracle):
    """Draws every candidate at random; infeasible and repeated ones are redrawn.

    The baseline every other strategy must beat, and the first phase of
    evolution. Takes the arguments of `MultiObjectiveOracle`.
    """

    def propose(self, trial_id: str) -> dict[str, Any] | None:
        return self.random_values()
