"""Turns what a user passes as `oracle=` into a keras-tuner Oracle."""

from __future__ import annotations

from typing import Any

import keras_tuner as kt

from tfnas.errors import TfnasInputError
from tfnas.oracles.evolution import EvolutionOracle
from tfnas.oracles.random_search import RandomOracle

ORACLES = {"evolution": EvolutionOracle, "random": RandomOracle}


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
