"""Search strategies: `MultiObjectiveOracle` and one strategy a module."""

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
from tfnas.oracles.resolve import DEFAULT_ORACLE
from tfnas.oracles.resolve import ORACLES
from tfnas.oracles.resolve import get_oracle
from tfnas.oracles.rl import RLOracle

__all__ = [
    "DEFAULT_ORACLE",
    "ORACLES",
    "BayesianOracle",
    "DNASOracle",
    "EvolutionOracle",
    "GreedyOracle",
    "HyperbandOracle",
    "MultiObjectiveOracle",
    "NSGA2Oracle",
    "OneShotOracle",
    "PSOOracle",
    "RLOracle",
    "RandomOracle",
    "get_oracle",
]
