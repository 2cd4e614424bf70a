"""A cheap pre-screen that skips candidates whose predicted cost is far over a limit.

Checking a hard constraint means building the candidate (~0.1-0.3 s for an
edge model, most of it creating weights). Under a tight limit most random
draws fail it: on digits with `max_macs=20_000`, about 19 of 20 MobileNet
draws do. The screen learns log-cost as a linear function of the one-hot
encoded hyperparameter values (least squares over every candidate built so
far) and skips a draw, without building it, only when its prediction exceeds
the limit by a wide margin (at least 3x the spread of the fit's leave-one-out
errors in log space: its error on candidates it has not seen).
Every candidate that passes is still built and checked exactly, so the screen
can waste a draw but never let an infeasible model through.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


class CostScreen:
    """Predicts log(cost) from hyperparameter values and flags clear constraint violations.

    Args:
        limits: `{metric: limit}`, e.g. `{"macs": 20000}`.
        margin: float, the least factor over a limit a prediction must show
            to be skipped. Defaults to 2.
        min_samples: int, built candidates needed before the screen acts.
            Defaults to 20.
    """

    def __init__(self, limits: Mapping[str, float], margin: float = 2.0, min_samples: int = 20):
        self.limits = dict(limits)
        self.log_margin = math.log(margin)
        self.min_samples = min_samples
        self._values: list[dict[str, Any]] = []
        self._costs: list[dict[str, float]] = []
        self._model: tuple | None = None  # (feature index, weights, spread of the leave-one-out errors) per fit

    def observe(self, values: Mapping[str, Any], costs: Mapping[str, float]) -> None:
        """Records the exact costs of a candidate that was built."""
        self._values.append(dict(values))
        self._costs.append({m: float(costs[m]) for m in self.limits})
        self._model = None

    def likely_infeasible(self, values: Mapping[str, Any]) -> bool:
        """True when some predicted cost is over its limit by more than the margin
        and by more than 3x the spread of the fit's leave-one-out errors."""
        if len(self._values) < self.min_samples or not self.limits:
            return False
        index, weights, spread = self._fit()
        x = self._encode(values, index)
        for metric, limit in self.limits.items():
            excess = float(x @ weights[metric]) - math.log1p(limit)
            if excess > max(self.log_margin, 3.0 * spread[metric]):
                return True
        return False

    def _fit(self) -> tuple:
        if self._model is None:
            keys = sorted({_key(k, v) for values in self._values for k, v in values.items()})
            index = {key: i + 1 for i, key in enumerate(keys)}  # column 0 is the intercept
            x = np.stack([self._encode(v, index) for v in self._values])
            weights, spread = {}, {}
            # a small ridge on the value columns (not the intercept) keeps the fit defined while there are
            # fewer samples than features; an unseen value then falls back to about the mean log-cost
            penalty = 1e-3 * np.eye(x.shape[1])
            penalty[0, 0] = 0.0
            inverse = np.linalg.inv(x.T @ x + penalty)
            leverage = np.einsum("ij,jk,ik->i", x, inverse, x)
            for metric in self.limits:
                y = np.log1p([c[metric] for c in self._costs])
                w = inverse @ x.T @ y
                weights[metric] = w
                # The error on samples the fit has not seen: leave-one-out residuals (e_i / (1 - h_ii)), whose
                # robust spread (1.4826 x median |.|) is not swayed by the few samples alone in some value. The
                # training error of a fit with about as many features as samples is near zero: as a margin it
                # made the screen skip candidates that meet the limit.
                loo = (x @ w - y) / np.maximum(1.0 - leverage, 1e-9)
                spread[metric] = float(1.4826 * np.median(np.abs(loo)))
            self._model = (index, weights, spread)
        return self._model

    @staticmethod
    def _encode(values: Mapping[str, Any], index: Mapping[str, int]) -> np.ndarray:
        x = np.zeros(len(index) + 1)
        x[0] = 1.0
        for k, v in values.items():
            column = index.get(_key(k, v))
            if column is not None:
                x[column] = 1.0
        return x


def _key(name: str, value: Any) -> str:
    return f"{name}={value!r}"
