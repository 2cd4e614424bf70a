"""Fine-tuning to recovery: how long a stage fine-tunes when `tfnas.compress` is given no `epochs=`.

A cut needs as many epochs as it needs to recover, which the user cannot
know beforehand. With `epochs=None` (the default) each stage fine-tunes
until its validation metric is back within `tolerance` of the uncompressed
model's ("recovered"), or has not improved for `patience` epochs
("plateau"), or has run its cap ("cap"): `MIN_CAP` epochs plus
`CAP_PER_CUT` per unit of the stage's cut (`Stage.cut`), so removing half
the weights may fine-tune longer than quantization-aware training alone.
The first `RAMP_EPOCHS` epochs always run: pruning reaches its sparsity
over them (its schedule ends at 70% of them), so no stage is judged half-done.
After a plateau or the cap, the weights of the best epoch are restored.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from tfnas import _compat
from tfnas.errors import TfnasInputError
from tfnas.task import Task

RAMP_EPOCHS = 3
"""Epochs every stage runs before it is judged (and pruning's schedule spans, with `epochs=None`)."""

MIN_CAP = 6
"""The cap of a stage that removes nothing (QAT, distillation alone)."""

CAP_PER_CUT = 24
"""Extra epochs of cap per unit of cut: 18 for pruning half the weights, about 13 for a channel step of 0.29."""


@dataclasses.dataclass
class Recovery:
    """When a stage fine-tuned with `epochs=None` stops.

    Attributes:
        baseline: The uncompressed model's validation metric.
        tolerance: How far below `baseline` (accuracy: absolute; mae:
            relative) counts as recovered. Defaults to 0: back to the original.
        patience: Epochs without improvement after which the stage stops.
    """

    baseline: float
    tolerance: float = 0.0
    patience: int = 3

    def cap(self, cut: float) -> int:
        """The most epochs a stage that takes away `cut` (in [0, 1]) of the model fine-tunes."""
        return max(RAMP_EPOCHS, int(math.ceil(MIN_CAP + CAP_PER_CUT * min(max(cut, 0.0), 1.0))))


def check_recovery(tolerance: Any, patience: Any) -> None:
    """Raises, naming the value received, unless `tolerance` is in [0, 1) and `patience` a positive integer."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0.0 <= tolerance < 1.0:
        raise TfnasInputError(f"tolerance must lie in [0, 1), e.g. 0.005. Received: tolerance={tolerance!r}")
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
        raise TfnasInputError(f"patience must be a positive integer, e.g. 3. Received: patience={patience!r}")


def drop(task: Task, baseline: float, value: float) -> float:
    """How much worse `value` is than `baseline`: accuracy points as a fraction, or mae's relative increase."""
    if task.higher_is_better:
        return baseline - value
    return (value - baseline) / baseline if baseline else value - baseline


def stopper(recovery: Recovery, cut: float, x_val: Any, y_val: Any, task: Task) -> Any:
    """A tf_keras callback that stops a stage's fine-tuning as `recovery` says (see the module docstring)."""
    callback_base = _compat.tf_keras().callbacks.Callback

    class RecoveryStop(callback_base):  # type: ignore[misc, valid-type]
        """Measures the validation metric after each epoch; stops on recovery, plateau or cap; restores the best."""

        def __init__(self) -> None:
            super().__init__()
            self.cap = recovery.cap(cut)
            self.epochs, self.reason = 0, "cap"
            self.best_value: float | None = None
            self.best_weights: list[Any] | None = None
            self.best_epoch = 0

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.epochs = epoch + 1
            if self.epochs < RAMP_EPOCHS:
                return
            value = task.quality(self.model, x_val, y_val)
            if self.best_value is None or drop(task, self.best_value, value) < 0:
                self.best_value, self.best_weights, self.best_epoch = value, self.model.get_weights(), self.epochs
            if drop(task, recovery.baseline, value) <= recovery.tolerance + 1e-9:
                self.reason, self.model.stop_training = "recovered", True
            elif self.epochs - self.best_epoch >= recovery.patience:
                self.reason, self.model.stop_training = "plateau", True
            elif self.epochs >= self.cap:
                self.reason, self.model.stop_training = "cap", True

        def on_train_end(self, logs: Any = None) -> None:
            if self.reason != "recovered" and self.best_weights is not None and self.best_epoch != self.epochs:
                self.model.set_weights(self.best_weights)

    return RecoveryStop()
