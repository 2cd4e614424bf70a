"""Turns what a user passes as `oracle=` into a keras-tuner Oracle."""

from __future__ import annotations

from typing import Any

import keras_tuner as kt

from tfnas.errors import TfnasInputError
from tfnas.oracles.bayesian import BayesianOracle
from tfnas.oracles.evolution import EvolutionOracle
from tfnas.oracles.greedy import GreedyOracle
from tfnas.oracles.hyperband import HyperbandOracle
from tfnas.oracles.nsga2 import NSGA2Oracle
from tfnas.oracles.pso import PSOOracle
from tfnas.oracles.random_search import RandomOracle
from tfnas.oracles.rl import RLOracle

# The strategy with the best median hypervolume in benchmarks/bench_strategies.py (MNIST-1D, 5 seeds).
DEFAULT_ORACLE = "pso"

ORACLES = {
    "bayesian": BayesianOracle,
    "evolution": EvolutionOracle,
    "greedy": GreedyOracle,
    "hyperband": HyperbandOracle,
    "nsga2": NSGA2Oracle,
    "pso": PSOOracle,
    "random": RandomOracle,
    "rl": RLOracle,
}


def get_oracle(oracle: str | kt.Oracle, **kwargs: Any) -> kt.Oracle:
    """Resolves a strategy name (built with `kwargs`) or returns an Oracle instance as is.

    Any `kt.Oracle` works; only a `MultiObjectiveOracle` skips infeasible
    candidates without training them (with a plain Oracle they fail as trials).
    """
    if isinstance(oracle, kt.Oracle):
        return oracle
    if isinstance(oracle, str) and oracle.lower() in ORACLES:
        return ORACLES[oracle.lower()](**kwargs)
    raise TfnasInputError(
        f"Unknown oracle {oracle!r}. Use one of {sorted(ORACLES)} or a keras_tuner.Oracle instance "
        "(subclass tfnas.oracles.MultiObjectiveOracle for constraint-aware custom strategies)."
    )
