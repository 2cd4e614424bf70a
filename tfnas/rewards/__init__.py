"""Rewards: how a trial's validation and cost metrics become a score or a Pareto rank."""

from tfnas.rewards.base import CallableReward
from tfnas.rewards.base import Reward
from tfnas.rewards.linear import Linear
from tfnas.rewards.mnasnet import MnasNet
from tfnas.rewards.pareto import Pareto
from tfnas.rewards.resolve import get_reward

__all__ = [
    "CallableReward",
    "Linear",
    "MnasNet",
    "Pareto",
    "Reward",
    "get_reward",
]
