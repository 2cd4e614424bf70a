"""The reward contract: how a trial's metrics become a number (or a rank) to maximise.

A reward sees one trial's metrics as a plain dict (`{"val_accuracy": 0.97,
"macs": 12000, ...}`) and returns a float, higher is better. Rewards that
cannot be written per trial (Pareto ranking needs every trial) also override
`rank`, which orders a whole population. Oracles only ever call `rank` and
`__call__`, so a user's reward is any subclass or any plain callable.
"""

from __future__ import annotations

import abc
import copy
import math
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from tfnas.errors import TfnasInputError

Metrics = Mapping[str, float]


class Reward(abc.ABC):
    """Base class of rewards: `metrics -> float`, higher is better.

    `quality` is the metric that says how good the model is (`"val_accuracy"`
    for classification, `"val_loss"` for regression) and `direction` whether
    it is maximised. Left as `None`, the search fills them in with `bind`, so
    the same reward object works for both tasks.

    Args:
        quality: str, name of the quality metric. Defaults to the search's.
        direction: str, `"max"` or `"min"` for the quality metric.
    """

    def __init__(self, quality: str | None = None, direction: str | None = None):
        if direction not in (None, "max", "min"):
            raise TfnasInputError(f"direction must be 'max' or 'min'. Received: direction={direction!r}")
        self.quality = quality
        self.direction = direction

    def bind(self, quality: str, direction: str, constraints: Mapping[str, float] | None = None) -> Reward:
        """Returns a copy with the search's quality metric and constraints filled in."""
        bound = copy.copy(self)
        bound.quality = self.quality or quality
        bound.direction = self.direction or direction
        bound.setup(dict(constraints or {}))
        return bound

    def setup(self, constraints: dict[str, float]) -> None:
        """Hook: reads the search's constraints when the reward is bound (`Linear` takes its cost scale here).

        Called on the bound copy, with the limits as `{"max_macs": ..., ...}`.
        The default does nothing.
        """

    def quality_value(self, metrics: Metrics) -> float:
        """The quality metric as a higher-is-better number.

        A minimised metric such as a loss is mapped to `1 / (1 + loss)`, which
        stays positive so that multiplicative rewards (MnasNet) keep their meaning.
        """
        if self.quality is None:
            raise TfnasInputError("This reward is not bound to a quality metric yet: call reward.bind(...) first.")
        if self.quality not in metrics:
            raise KeyError(f"Metric {self.quality!r} missing from the trial's metrics {sorted(metrics)}.")
        value = float(metrics[self.quality])
        return value if self.direction == "max" else 1.0 / (1.0 + max(value, 0.0))

    @abc.abstractmethod
    def __call__(self, metrics: Metrics) -> float:
        """Scores one trial; higher is better."""

    def rank(self, population: Sequence[Metrics]) -> list[tuple[float, ...]]:
        """Sort keys for a population, one tuple per entry; larger sorts first."""
        return [(_finite(self(m)),) for m in population]

    def config(self) -> dict[str, Any]:
        """Plain-data description for reports."""
        return {"name": type(self).__name__, "quality": self.quality, "direction": self.direction}


class CallableReward(Reward):
    """Wraps any callable `metrics -> float` as a reward.

    Example:

    ```python
    reward = CallableReward(lambda m: m["val_accuracy"] - 1e-6 * m["macs"])
    ```
    """

    def __init__(self, fn: Callable[[Metrics], float], quality: str | None = None, direction: str | None = None):
        super().__init__(quality, direction)
        if not callable(fn):
            raise TypeError(f"CallableReward needs a callable metrics -> float. Received: {fn!r}")
        self.fn = fn

    def __call__(self, metrics: Metrics) -> float:
        return float(self.fn(dict(metrics)))

    def config(self) -> dict[str, Any]:
        return {**super().config(), "callable": getattr(self.fn, "__name__", repr(self.fn))}


def _finite(value: float) -> float:
    """Maps NaN (a broken trial) to minus infinity so it always sorts last."""
    return -math.inf if math.isnan(value) else value
