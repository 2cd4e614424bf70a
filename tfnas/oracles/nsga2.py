"""NSGA-II (Deb et al. 2002): elitist non-dominated sorting with crowding, crossover and mutation."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfnas.errors import TfnasInputError
from tfnas.oracles.base import MultiObjectiveOracle
from tfnas.oracles.encoding import is_tunable


class NSGA2Oracle(MultiObjectiveOracle):
    """NSGA-II over hyperparameter values.

    Until `population_size` trials are done, candidates are random. Then the
    parents are the `population_size` best completed trials by the reward's
    ranking (for `Pareto`: non-dominated front, then crowding distance: the
    elitist (mu + lambda) selection of NSGA-II, where every trial ever
    trained competes). Each child takes two parents picked by binary
    tournament on that ranking, mixes their values (uniform crossover with
    probability `crossover_prob`), then changes each active hyperparameter
    with probability `1 / number of active hyperparameters` (at least one).

    Args:
        population_size: int, parents kept. Defaults to 10 (capped at half
            of `max_trials` so that short searches still evolve).
        crossover_prob: float, chance a child mixes two parents rather than
            copying one. Defaults to 0.9.
        **kwargs: the arguments of `MultiObjectiveOracle`.
    """

    def __init__(self, population_size: int = 10, crossover_prob: float = 0.9, **kwargs: Any):
        super().__init__(**kwargs)
        if population_size < 2 or not 0.0 <= crossover_prob <= 1.0:
            raise TfnasInputError(
                "population_size must be >= 2 and crossover_prob in [0, 1]. Received: "
                f"population_size={population_size}, crossover_prob={crossover_prob}"
            )
        if self.max_trials:
            population_size = max(2, min(population_size, self.max_trials // 2))
        self.population_size = population_size
        self.crossover_prob = crossover_prob

    def propose(self, trial_id: str) -> dict[str, Any] | None:
        done = self.completed_trials()
        if len(done) < self.population_size:
            return self.random_values()
        parents = self.rank_trials(done)[: self.population_size]  # best first: lower index wins a tournament
        rng = self.rng()

        def tournament() -> dict[str, Any]:
            a, b = rng.choice(len(parents), size=2, replace=False)
            return parents[min(a, b)].hyperparameters.values

        first, second = tournament(), tournament()
        child = dict(first)
        if rng.random() < self.crossover_prob:
            child = {name: (first if rng.random() < 0.5 else second).get(name, value) for name, value in child.items()}
            child.update({k: v for k, v in second.items() if k not in child and rng.random() < 0.5})
        return self.mutate(self.complete_values(child), rng)

    def mutate(self, values: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """Redraws each active tunable hyperparameter with probability 1/n (at least one changes)."""
        hps = self.hyperparameters.copy()
        hps.values = dict(values)
        active = [hp for hp in hps.space if hps.is_active(hp) and is_tunable(hp)]
        if not active:
            return dict(values)
        flips = rng.random(len(active)) < 1.0 / len(active)
        flips[rng.integers(len(active))] = True
        child = dict(values)
        for hp, flip in zip(active, flips, strict=True):
            if flip:
                child[hp.name] = hp.random_sample(int(rng.integers(2**31)))
        return self.complete_values(child)
