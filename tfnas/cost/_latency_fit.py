"""The per-kernel latency regressor: a tile-aware linear cost, corrected by a random forest in log space.

Why two stages: a kernel's time is mostly work over throughput (MACs with
channels rounded up to the SIMD tile, bytes moved) plus a fixed cost, which a
non-negative linear model captures and extrapolates to shapes larger than
any measured; what it misses (cache sizes, thread splits, XNNPACK's choice
of micro-kernel) is a multiplicative factor that a random forest on the log
of the features learns. The linear fit weighs each sample by 1/latency^2,
so it minimises relative, not absolute, error: a 20 us op counts as much as
a 20 ms one, as it does in the share of models predicted within 10%.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold

from tfnas.cost._kernel_features import FEATURES

LINEAR = (
    "macs",
    "macs8",
    "macs16",
    "macs32",
    "in_bytes",
    "out_bytes",
    "weight_bytes",
    "out_hw",
)
_LINEAR_COLUMNS = [FEATURES.index(name) for name in LINEAR]
_SCALE = 1e-6  # features in millions: keeps the least-squares problem well conditioned
SEED = 0


class KernelRegressor:
    """Predicts the milliseconds of one kernel type's micro-model from its features (rows of `FEATURES`)."""

    def __init__(self, forest: bool = True) -> None:
        self.forest = forest
        self.linear = LinearRegression(positive=True)
        self.trees: RandomForestRegressor | None = None

    def _linear_predict(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(self.linear.predict(x[:, _LINEAR_COLUMNS] * _SCALE), 1e-4)

    def fit(self, x: np.ndarray, y: np.ndarray) -> KernelRegressor:
        """Fits on features `x` (n, len(FEATURES)) and measured milliseconds `y` (n,)."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        self.linear.fit(
            x[:, _LINEAR_COLUMNS] * _SCALE,
            y,
            sample_weight=1.0 / np.maximum(y, 1e-4) ** 2,
        )
        if self.forest and len(y) >= 4:
            residual = np.log(y / self._linear_predict(x))
            self.trees = RandomForestRegressor(n_estimators=80, min_samples_leaf=2, random_state=SEED, n_jobs=1)
            self.trees.fit(np.log1p(x), residual)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted milliseconds of each row's micro-model (per-invoke overhead included)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        base = self._linear_predict(x)
        if self.trees is not None:
            base = base * np.exp(self.trees.predict(np.log1p(x)))
        return base


def relative_errors(x: np.ndarray, y: np.ndarray, folds: int = 5, forest: bool = True) -> np.ndarray:
    """Cross-validated relative errors (predicted / measured - 1) of every sample, one fold held out at a time."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    errors = np.zeros(len(y))
    if len(y) < 3:
        return errors
    for train, test in KFold(n_splits=min(folds, len(y)), shuffle=True, random_state=SEED).split(x):
        model = KernelRegressor(forest=forest).fit(x[train], y[train])
        errors[test] = model.predict(x[test]) / y[test] - 1.0
    return errors


def error_summary(errors: np.ndarray) -> dict[str, float]:
    """Mean absolute relative error and the shares within 5% and 10%, as a profile stores them."""
    errors = np.abs(np.asarray(errors, dtype=np.float64))
    if not len(errors):
        return {
            "n": 0,
            "mape": float("nan"),
            "within_5": float("nan"),
            "within_10": float("nan"),
        }
    return {
        "n": len(errors),
        "mape": round(float(np.mean(errors)), 4),
        "within_5": round(float(np.mean(errors <= 0.05)), 4),
        "within_10": round(float(np.mean(errors <= 0.10)), 4),
    }


# What an op costs inside a whole model relative to alone, fitted per kernel group (see `fit_in_model`).
# RESHAPE has a group of its own: alone it is a copy, inside a model XNNPACK mostly elides it (a Flatten before
# a Dense measured 0.0-0.4 us in a model, 0.1-1.7 us more than the empty model alone).
GROUPS = {"CONV_2D": "conv", "DEPTHWISE_CONV_2D": "depthwise", "FULLY_CONNECTED": "dense", "RESHAPE": "reshape"}
OTHER = "other"
MIN_MODELS = 8  # fewer measured whole models than this: too few for the seven coefficients


def group_of(kind: str) -> str:
    """The kernel group whose in-model scale applies to a kernel type: conv, depthwise, dense or other."""
    return GROUPS.get(kind, OTHER)


def fit_in_model(alone: list[dict[str, float]], ops: list[int], measured: np.ndarray) -> dict[str, float]:
    """Fits a model's time as `constant + per_op * ops + sum(scale[group] * alone[group])`.

    `alone[i][group]` is model i's summed micro-model time of that group's
    kernels, less the per-invoke overhead each micro-model paid; `ops[i]` its
    op count. Non-negative least squares in relative error (each row divided
    by its measured time), so a 5 us model counts as much as a 5 ms one.
    The fit learns what single-kernel timing misses: XNNPACK elides a
    flatten's copy inside a model, 1x1 convs read an input the previous op
    left in cache, the delegate's per-op set-up. Measured on this 2-core
    machine (a default calibration): conv 0.97, depthwise 1.00, dense 0.98, reshape 0.01, other 0.99,
    0 per op and a constant of 0.44 us.

    Returns:
        {"constant_ms", "per_op_ms", and one scale per group in `GROUPS` and `OTHER`}.
    """
    groups = [*GROUPS.values(), OTHER]
    x = np.array([[1.0, float(n)] + [a.get(g, 0.0) for g in groups] for a, n in zip(alone, ops, strict=True)])
    y = np.asarray(measured, dtype=np.float64)
    coef, _ = nnls(x / y[:, None], np.ones(len(y)))
    return {"constant_ms": float(coef[0]), "per_op_ms": float(coef[1]),
            **{g: float(c) for g, c in zip(groups, coef[2:], strict=True)}}  # fmt: skip
