"""A linear scalarisation of quality and cost: alpha * P_data + beta * P_comp."""

from __future__ import annotations

from typing import Any

from tfnas.errors import TfnasInputError
from tfnas.rewards.base import Metrics
from tfnas.rewards.base import Reward


class Linear(Reward):
    """`alpha * quality + beta * cost / reference`: the weighted-sum form.

    The cost is normalised by `reference` so that `alpha` and `beta` weigh
    numbers of the same scale. Without a `reference`, the search's hard
    constraint on the same metric (e.g. `max_macs`) is used; with neither,
    `bind` raises an error asking for one.

    Example:

    ```python
    reward = Linear(alpha=1.0, beta=-0.1, metric="macs", reference=20_000)
    ```

    Args:
        alpha: float, weight of the quality metric. Defaults to 1.
        beta: float, weight of the normalised cost (usually negative). Defaults to -0.1.
        metric: str, the cost metric. Defaults to `"macs"`.
        reference: float, the cost that normalises to 1. Defaults to the constraint.
    """

    def __init__(
        self,
        alpha: float = 1.0,
        beta: float = -0.1,
        metric: str = "macs",
        reference: float | None = None,
        quality: str | None = None,
        direction: str | None = None,
    ) -> None:
        super().__init__(quality, direction)
        if reference is not None and reference <= 0:
            raise TfnasInputError(f"reference must be a positive cost. Received: reference={reference!r}")
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.metric = metric
        self.reference = reference

    def setup(self, constraints: dict[str, float]) -> None:
        if self.reference is None:
            limit = constraints.get(f"max_{self.metric}")
            if limit is None:
                raise TfnasInputError(
                    f"Linear reward needs a cost scale for {self.metric!r}: pass "
                    f"Linear(..., reference=...) or a 'max_{self.metric}' constraint."
                )
            self.reference = float(limit)

    def __call__(self, metrics: Metrics) -> float:
        if self.reference is None:
            raise TfnasInputError("Linear reward has no reference cost: pass reference=... or bind it to constraints.")
        cost = float(metrics[self.metric]) / float(self.reference)
        return self.alpha * self.quality_value(metrics) + self.beta * cost

    def config(self) -> dict[str, Any]:
        return {**super().config(), "alpha": self.alpha, "beta": self.beta, "metric": self.metric, "reference": self.reference}
