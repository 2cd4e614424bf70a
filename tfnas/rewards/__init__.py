"""Rewards: how a trial's validation and cost metrics become a score or a Pareto rank."""

from tfnas.rewards.base import CallableReward
from tfnas.rewards.base import Reward
from tfnas.rewards.linear import Linear
from tfnas.rewards.mnasnet import MnasNet
from tfnas.rewards.pareto import Pareto
from tfnas.rewards.pareto import crowding_distance
from tfnas.rewards.pareto import hypervolume_2d
from tfnas.rewards.pareto import non_dominated_fronts
from tfnas.rewards.resolve import get_reward

__all__ = [
    "CallableReward",
    "Linear",
    "MnasNet",
    "Pareto",
    "Reward",
    "crowding_distance",
    "get_reward",
    "hypervolume_2d",
    "non_dominated_fronts",
]
