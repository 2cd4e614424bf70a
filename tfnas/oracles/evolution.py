"""Regularized (aging) evolution, Real et al. 2019, the default strategy."""

from __future__ import annotations

from typing import Any

import keras_tuner as kt

from tfnas.errors import TfnasInputError
from tfnas.oracles.base import MultiObjectiveOracle


class EvolutionOracle(MultiObjectiveOracle):
    """Regularized evolution: tournament on the youngest trials, mutate one hyperparameter.

    The population is the `population_size` most recently completed trials
    (older ones "age out", which keeps the search from settling on one lucky
    early model). Until the population is full, candidates are random. Then
    `sample_size` members are drawn, the best by the reward (Pareto rank,
    then crowding, for `Pareto`) becomes the parent, and the child is the
    parent with one active hyperparameter changed.

    Args:
        population_size: int, number of recent trials that can be parents.
            Defaults to 10 (capped at half of `max_trials` so that short
            searches still evolve).
        sample_size: int, tournament size. Defaults to 3.
        **kwargs: the arguments of `MultiObjectiveOracle`.
    """

    def __init__(self, population_size: int = 10, sample_size: int = 3, **kwargs: Any):
        super().__init__(**kwargs)
        if population_size < 2 or sample_size < 1:
            raise TfnasInputError(
                f"population_size must be >= 2 and sample_size >= 1. Received: "
                f"population_size={population_size}, sample_size={sample_size}"
            )
        if self.max_trials:
            population_size = max(2, min(population_size, self.max_trials // 2))
        self.population_size = population_size
        self.sample_size = min(sample_size, population_size)

    def propose(self, trial_id: str) -> dict[str, Any] | None:
        population = self.completed_trials()[-self.population_size :]
        if len(population) < self.population_size:
            return self.random_values()
        rng = self.rng()
        picks = rng.choice(len(population), size=self.sample_size, replace=False)
        parent = self.rank_trials([population[i] for i in picks])[0]
        return self.mutate(parent.hyperparameters.values)

    def mutate(self, values: dict[str, Any]) -> dict[str, Any]:
        """The same values with one active, tunable hyperparameter changed."""
        hps = self.hyperparameters.copy()
        hps.values = dict(values)
        tunable = [hp for hp in hps.space if hps.is_active(hp) and not isinstance(hp, kt.engine.hyperparameters.Fixed)]
        if not tunable:
            return dict(values)
        rng = self.rng()
        hp = tunable[int(rng.integers(len(tunable)))]
        child = dict(values)
        for _ in range(10):  # draw until the value changes (a Choice of 2 changes half the time)
            child[hp.name] = hp.random_sample(int(rng.integers(2**31)))
            if child[hp.name] != values.get(hp.name):
                break
        return self.complete_values(child)
