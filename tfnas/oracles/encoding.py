"""Hyperparameter values as points of the unit cube, and back (for Bayesian, PSO and RL strategies).

keras-tuner already maps every hyperparameter type to [0, 1] and back
(`value_to_prob` / `prob_to_value`, what its own BayesianOptimization uses);
these helpers apply that to a whole, conditional space. An inactive
hyperparameter is encoded at its default, so two candidates that differ only
in values that are switched off encode to the same point.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import keras_tuner as kt
import numpy as np
from keras_tuner.engine.hyperparameters import HyperParameter

_TOP = 1.0 - 1e-9  # Choice.prob_to_value(1.0) would index one past the end


def is_tunable(hp: HyperParameter) -> bool:
    """True unless the hyperparameter is `Fixed`."""
    return not isinstance(hp, kt.engine.hyperparameters.Fixed)


def encode(space: Sequence[HyperParameter], values: Mapping[str, Any]) -> np.ndarray:
    """One coordinate in [0, 1] per hyperparameter of `space`."""
    return np.array([float(hp.value_to_prob(values.get(hp.name, hp.default))) for hp in space])


def decode(space: Sequence[HyperParameter], point: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """The legal values nearest to `point` for the hyperparameters that are active there."""
    hps = kt.HyperParameters()
    for hp, p in zip(space, point, strict=True):
        hps.merge([hp])
        if hps.is_active(hp):
            hps.values[hp.name] = hp.prob_to_value(float(np.clip(p, 0.0, _TOP)))
    return dict(hps.values)


def choices(hp: HyperParameter, bins: int = 10) -> list[Any]:
    """The values a categorical policy picks from: a Choice's own, else `bins` evenly spaced legal values."""
    if isinstance(hp, kt.engine.hyperparameters.Choice):
        return list(hp.values)
    if isinstance(hp, kt.engine.hyperparameters.Boolean):
        return [False, True]
    if not is_tunable(hp):
        return [hp.value]
    picked = [hp.prob_to_value((i + 0.5) / bins) for i in range(bins)]
    return list(dict.fromkeys(picked))  # an Int range narrower than `bins` repeats values


def is_legal(hp: HyperParameter, value: Any) -> bool:
    """True when `value` is one `hp` can take (values from another space, such as a warm start's, may not be)."""
    hps = kt.engine.hyperparameters
    if isinstance(hp, hps.Choice):
        return value in hp.values
    if isinstance(hp, hps.Boolean):
        return isinstance(value, bool)
    if isinstance(hp, hps.Fixed):
        return value == hp.value
    if isinstance(hp, (hps.Int, hps.Float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and hp.min_value <= value <= hp.max_value
    return True
