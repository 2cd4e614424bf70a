"""Turns what a user passes as `reward=` into a `Reward`."""

from __future__ import annotations

from collections.abc import Callable

from tfnas.errors import TfnasInputError
from tfnas.rewards.base import CallableReward
from tfnas.rewards.base import Reward
from tfnas.rewards.linear import Linear
from tfnas.rewards.mnasnet import MnasNet
from tfnas.rewards.pareto import Pareto

# The rewards a config file names (`reward: {name: mnasnet, target: 20000}`).
REWARDS: dict[str, type[Reward]] = {"pareto": Pareto, "mnasnet": MnasNet, "linear": Linear}


def get_reward(reward: str | Reward | Callable | None) -> Reward:
    """Resolves `"pareto"`, a `Reward` instance or a callable `metrics -> float`.

    `MnasNet` and `Linear` need a target or weights, so they are passed as
    objects (`tfnas.rewards.MnasNet(target=20_000)`), not by name.
    """
    if reward is None or (isinstance(reward, str) and reward.lower() == "pareto"):
        return Pareto()
    if isinstance(reward, Reward):
        return reward
    if isinstance(reward, str):
        raise TfnasInputError(
            f"Unknown reward {reward!r}. Use 'pareto', a tfnas.rewards object such as "
            "tfnas.rewards.MnasNet(target=20_000) or tfnas.rewards.Linear(alpha=1, beta=-0.1, reference=20_000), "
            "or a callable metrics -> float."
        )
    if callable(reward):
        return CallableReward(reward)
    raise TfnasInputError(f"reward must be 'pareto', a tfnas.rewards.Reward or a callable. Received: {reward!r}")
