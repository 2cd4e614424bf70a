"""The one-shot oracle's arguments, checked when it is built (before any data is seen)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tfnas.errors import TfnasInputError
from tfnas.oneshot.sandwich import TRAINING_HPS

__all__ = ["check_arguments"]


def check_arguments(
    *, supernet_epochs: int | None, num_random: int, num_ranked: int, population_size: int, calibration_samples: int,
    trial_epochs: int | None, learning_rate: float | None, frame: Mapping[str, Any] | str | None,
    tolerance: float | str | None, probe: Any,
) -> None:
    """Refuses an argument of `OneShotOracle` it cannot use, naming it and the value received.

    Raises:
        TfnasInputError: A count that is not an integer at or above its least value, a learning rate that is
            not positive, a frame that is not "auto", None or a dict, a tolerance that is not "auto", None or
            a number >= 0, or a probe of hps that are not training hps.
    """
    for name, value, low in (("supernet_epochs", supernet_epochs, 1), ("num_random", num_random, 0),
                             ("num_ranked", num_ranked, 1), ("population_size", population_size, 2),
                             ("calibration_samples", calibration_samples, 1), ("trial_epochs", trial_epochs, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise TfnasInputError(f"{name} must be an integer >= {low}. Received: {name}={value!r}")
    if learning_rate is not None and not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
        raise TfnasInputError(f"learning_rate must be a positive number. Received: learning_rate={learning_rate!r}")
    if not (frame is None or frame == "auto" or isinstance(frame, Mapping)):
        raise TfnasInputError(f"frame must be 'auto', None or a dict of strides and pooling. Received: frame={frame!r}")
    if not (tolerance is None or tolerance == "auto" or (
            isinstance(tolerance, (int, float)) and not isinstance(tolerance, bool) and tolerance >= 0)):
        raise TfnasInputError(f"tolerance must be 'auto', None or a number >= 0. Received: tolerance={tolerance!r}")
    if isinstance(probe, str) or not set(probe) <= set(TRAINING_HPS):
        raise TfnasInputError(f"probe takes training hps among {TRAINING_HPS}. Received: probe={probe!r}")
