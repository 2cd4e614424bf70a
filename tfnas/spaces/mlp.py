"""`MLPSpace`: small multilayer perceptrons for feature vectors of shape (F,).

Why this shape of space: tabular and pre-extracted features need nothing but
FULLY_CONNECTED ops, the cheapest int8 kernel on a microcontroller; ReLU lives
inside each Dense layer so it fuses into the op.
"""

from __future__ import annotations

import contextlib
from types import ModuleType
from typing import Any

import keras_tuner as kt

from tfnas.spaces.base import EdgeSpace
from tfnas.spaces.ranges import int_choices


class MLPSpace(EdgeSpace):
    """MLP search space for vectors of shape (F,).

    1 to `max(num_layers)` hidden `Dense(units, activation="relu")` layers,
    then Dropout and a Dense head.

    Hyperparameters: `num_layers`, per layer i (1-based, active only when
    `num_layers >= i`) `units{i}`; then `dropout`, `learning_rate`.

    Args:
        input_shape: See `EdgeSpace`.
        num_outputs: See `EdgeSpace`.
        task: See `EdgeSpace`.
        name: See `EdgeSpace`.
        num_layers: Number of hidden layers.
        units: Units of a hidden layer.
        dropout: Dropout rate before the head.
        learning_rate: Adam learning rate.

    Example:
        >>> space = MLPSpace(units=(16, 32)).configure((20,), 3, "classification")
        >>> model = space.build(kt.HyperParameters())
    """

    space_name = "mlp"
    input_rank = 1
    summary_keys = ("num_layers", "units1", "units2", "units3", "dropout", "learning_rate")
    RANGES = {
        "num_layers": int_choices(1, 16),
        "units": int_choices(1),
        **EdgeSpace.RANGES,
    }

    def __init__(
        self,
        input_shape: tuple[int, ...] | None = None,
        num_outputs: int | None = None,
        task: str = "classification",
        name: str | None = None,
        *,
        num_layers: tuple[int, ...] = (1, 2, 3),
        units: tuple[int, ...] = (16, 32, 64, 128),
        dropout: tuple[float, ...] = (0.0, 0.1, 0.25),
        learning_rate: tuple[float, ...] = (1e-3, 3e-3, 1e-2),
        **unknown: Any,
    ) -> None:
        super().__init__(
            input_shape=input_shape,
            num_outputs=num_outputs,
            task=task,
            name=name,
            num_layers=num_layers,
            units=units,
            dropout=dropout,
            learning_rate=learning_rate,
            **unknown,
        )

    def _rank_hint(self) -> str:
        return "feature vectors (F,)"

    def _body(self, hp: kt.HyperParameters, k: ModuleType, inputs: Any) -> Any:
        layer_choices = list(self._ranges["num_layers"])
        num_layers = hp.Choice("num_layers", layer_choices)
        x = inputs
        for i in range(1, max(layer_choices) + 1):
            active = [n for n in layer_choices if n >= i]
            scope = hp.conditional_scope("num_layers", active) if i > min(layer_choices) else contextlib.nullcontext()
            with scope:
                units = hp.Choice(f"units{i}", list(self._ranges["units"]))
            if i <= num_layers:
                x = k.layers.Dense(units, activation="relu", name=f"dense{i}")(x)
        return x
