"""MnasNet's latency-aware reward (Tan et al. 2019): ACC(m) * (COST(m) / T) ** w."""

from __future__ import annotations

from typing import Any

from tfnas.errors import TfnasInputError
from tfnas.rewards.base import Metrics
from tfnas.rewards.base import Reward


class MnasNet(Reward):
    """`quality * (cost / target) ** w`, with the paper's soft and hard variants.

    The exponent is `alpha` when `cost <= target` and `beta` above it. The
    soft constraint uses `alpha = beta = w` (the paper's -0.07: doubling the
    cost must buy about 5% relative accuracy). The hard constraint
    (`hard=True`) uses `alpha = 0, beta = -1`: models under the target are
    ranked on quality alone and the reward falls sharply above it.

    Example:

    ```python
    reward = MnasNet(target=20_000)  # soft, 20k MACs
    reward = MnasNet(target=64 * 1024, metric="peak_ram_bytes", hard=True)
    ```

    Args:
        target: float, the target cost T (> 0).
        w: float, the soft exponent. Defaults to -0.07.
        metric: str, the cost metric. Defaults to `"macs"`.
        hard: bool, use the hard-constraint exponents (0, -1). Defaults to False.
    """

    def __init__(
        self,
        target: float,
        w: float = -0.07,
        metric: str = "macs",
        hard: bool = False,
        quality: str | None = None,
        direction: str | None = None,
    ) -> None:
        super().__init__(quality, direction)
        if not target or target <= 0:
            raise TfnasInputError(f"MnasNet needs a positive target cost. Received: target={target!r}")
        if w > 0:
            raise TfnasInputError(f"MnasNet's exponent w must be <= 0 (a higher cost must not raise the reward). Received: w={w}")
        self.target = float(target)
        self.w = float(w)
        self.metric = metric
        self.hard = bool(hard)

    @property
    def exponents(self) -> tuple[float, float]:
        """(alpha, beta): the exponents under and over the target."""
        return (0.0, -1.0) if self.hard else (self.w, self.w)

    def __call__(self, metrics: Metrics) -> float:
        cost = max(float(metrics[self.metric]), 1e-12)
        alpha, beta = self.exponents
        exponent = alpha if cost <= self.target else beta
        return self.quality_value(metrics) * (cost / self.target) ** exponent

    def config(self) -> dict[str, Any]:
        return {**super().config(), "target": self.target, "w": self.w, "metric": self.metric, "hard": self.hard}
