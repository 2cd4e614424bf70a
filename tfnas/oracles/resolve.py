"""Turns what a user passes as `oracle=` into a keras-tuner Oracle."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import keras_tuner as kt

from tfnas.arguments import check_arguments
from tfnas.constraints import Constraints
from tfnas.errors import TfnasInputError
from tfnas.oracles.base import CostFunction
from tfnas.oracles.base import MultiObjectiveOracle
from tfnas.oracles.bayesian import BayesianOracle
from tfnas.oracles.dnas import DNASOracle
from tfnas.oracles.evolution import EvolutionOracle
from tfnas.oracles.greedy import GreedyOracle
from tfnas.oracles.hyperband import HyperbandOracle
from tfnas.oracles.nsga2 import NSGA2Oracle
from tfnas.oracles.oneshot import OneShotOracle
from tfnas.oracles.pso import PSOOracle
from tfnas.oracles.random_search import RandomOracle
from tfnas.oracles.rl import RLOracle
from tfnas.rewards import Reward

DEFAULT_ORACLE = "pso"
"""The strategy `tfnas.search` uses: the best median hypervolume in benchmarks/bench_strategies.py (MNIST-1D, 5 seeds)."""

ORACLES: dict[str, type[MultiObjectiveOracle]] = {
    "bayesian": BayesianOracle,
    "dnas": DNASOracle,
    "evolution": EvolutionOracle,
    "greedy": GreedyOracle,
    "hyperband": HyperbandOracle,
    "nsga2": NSGA2Oracle,
    "oneshot": OneShotOracle,
    "pso": PSOOracle,
    "random": RandomOracle,
    "rl": RLOracle,
}
"""The strategies by the name `oracle=` (and a config's `oracle.name`) takes."""


def get_oracle(
    spec: str | Mapping[str, Any] | kt.Oracle,
    *,
    objective: kt.Objective | str | None = None,
    constraints: Constraints | Mapping[str, Any] | None = None,
    reward: str | Reward | Callable | None = "pareto",
    epochs: int | None = None,
    cost_function: CostFunction | None = None,
    warm_start: Sequence[Mapping[str, Any]] | None = None,
    **kwargs: Any,
) -> kt.Oracle:
    """The one way an oracle is made for a search: built from a name, or a user's instance adopted.

    Example:

    ```python
    get_oracle("pso", objective="val_accuracy", constraints={"max_macs": 20_000}, max_trials=30)
    get_oracle({"name": "pso", "num_particles": 6}, objective="val_accuracy")   # a config's `oracle:` section
    ```

    Args:
        spec: a name from `ORACLES`, a dict `{"name": ..., **arguments of
            that class}`, or a `kt.Oracle` instance. A `MultiObjectiveOracle`
            instance adopts the search's settings through its `adopt` method
            (its own objective and constraints win); any other `kt.Oracle`
            is used as it is.
        objective: the search's quality metric.
        constraints: the search's hard limits.
        reward: the reward of an oracle built here.
        epochs: epochs of one full training (Hyperband's `max_epochs`).
        cost_function: `hp -> cost metrics`, how candidates are priced before training.
        warm_start: hyperparameter values proposed first (a
            `MultiObjectiveOracle`'s `warm_start`; other oracles ignore it).
        **kwargs: the search's other oracle arguments (`max_trials`, `seed`,
            `max_draws`, `max_consecutive_failed_trials`).

    Returns:
        A `kt.Oracle` that nothing changes afterwards.

    Raises:
        TfnasInputError: an unknown name, an argument the strategy does not
            take (with the nearest one), or a value it rejects.
    """
    if isinstance(spec, kt.Oracle):
        if isinstance(spec, MultiObjectiveOracle):
            spec.adopt(
                objective=objective, constraints=constraints, epochs=epochs, cost_function=cost_function,
                warm_start=warm_start,
            )
        return spec
    name, arguments = _name_and_arguments(spec)
    cls = ORACLES[name]
    check_arguments(cls, arguments, "oracle", f"the arguments of oracle {name!r}")
    for key in set(arguments) & {"objective", "constraints", "reward", "cost_function", "warm_start", *kwargs}:
        raise TfnasInputError(
            f"Pass {key} to the search (or the config's search/constraints/reward section), not in the oracle's arguments."
        )
    if cls is HyperbandOracle and "max_epochs" not in arguments:
        arguments["max_epochs"] = epochs
    try:
        oracle = cls(
            objective=objective, constraints=constraints, reward=reward, cost_function=cost_function,
            warm_start=warm_start, **kwargs, **arguments,
        )
    except TypeError as e:
        raise TfnasInputError(f"oracle {name!r}: {e}. See the arguments of tfnas.oracles.{cls.__name__}.") from None
    if issubclass(cls, OneShotOracle) and epochs is not None:
        oracle.adopt(epochs=epochs)  # the supernet's share of the budget is counted in trials of `epochs`
    return oracle


def _name_and_arguments(spec: Any) -> tuple[str, dict[str, Any]]:
    arguments = {}
    if isinstance(spec, Mapping):
        arguments = {k: v for k, v in spec.items() if k != "name"}
        spec = spec.get("name")
    if isinstance(spec, str) and spec.lower() in ORACLES:
        return spec.lower(), arguments
    raise TfnasInputError(
        f"Unknown oracle {spec!r}. Use one of {sorted(ORACLES)}, a dict {{'name': ..., **arguments}} or a "
        "keras_tuner.Oracle instance (subclass tfnas.oracles.MultiObjectiveOracle for constraint-aware custom strategies)."
    )
