"""Search strategies: `MultiObjectiveOracle` and one strategy a module."""

from tfnas.oracles.base import MultiObjectiveOracle
from tfnas.oracles.evolution import EvolutionOracle
from tfnas.oracles.random_search import RandomOracle
from tfnas.oracles.resolve import ORACLES
from tfnas.oracles.resolve import get_oracle

__all__ = ["ORACLES", "EvolutionOracle", "MultiObjectiveOracle", "RandomOracle", "get_oracle"]
