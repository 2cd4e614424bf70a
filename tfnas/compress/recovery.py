"""Fine-tuning to recovery: how long a stage fine-tunes when `tfnas.compress` is given no `epochs=`.

A cut needs as many epochs as it needs to recover, which the user cannot
know beforehand. With `epochs=None` (the default) each stage fine-tunes
until its validation metric is back within `tolerance` of the uncompressed
model's and its validation loss no higher ("recovered": a small validation
set reaches the metric by chance long before the model has recovered; the
loss says so), or its validation loss has not improved for `patience`
epochs ("plateau"), or it has run its cap ("cap"): `MIN_CAP` epochs plus
`CAP_PER_CUT` per unit of the stage's cut (`Stage.cut`), so removing half
the weights may fine-tune longer than quantization-aware training alone.
The first `RAMP_EPOCHS` epochs always run: pruning reaches its sparsity
over them (its schedule ends at 70% of them), so no stage is judged half-done.
After a plateau or the cap, the weights of the epoch of lowest validation loss are restored.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from tfnas import _compat
from tfnas.compress.distill import ends_in_softmax
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
        baseline_loss: Its validation loss (`validation_loss`).
        tolerance: How far below `baseline` (accuracy: absolute; mae:
            relative) counts as recovered. Defaults to 0: back to the original.
        patience: Epochs without improvement after which the stage stops.
    """

    baseline: float
    baseline_loss: float
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


def validation_loss(model: Any, x: Any, y: Any, task: Task, batch_size: int = 256) -> float:
    """Cross-entropy of the labels (classification; from probabilities or logits) or mean squared error."""
    outputs = np.concatenate([np.asarray(model(x[i : i + batch_size], training=False), np.float64)
                              for i in range(0, len(x), batch_size)])
    if not task.is_classification:
        return float(np.mean((outputs.reshape(len(outputs), -1) - np.asarray(y, np.float64).reshape(len(outputs), -1)) ** 2))
    if not ends_in_softmax(model):
        outputs = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        outputs /= outputs.sum(axis=1, keepdims=True)
    picked = outputs[np.arange(len(outputs)), np.asarray(y, np.int64)]
    return float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))


def stopper(recovery: Recovery, cut: float, x_val: Any, y_val: Any, task: Task) -> Any:
    """A tf_keras callback that stops a stage's fine-tuning as `recovery` says (see the module docstring)."""
    callback_base = _compat.tf_keras().callbacks.Callback

    class RecoveryStop(callback_base):  # type: ignore[misc, valid-type]
        """Measures the validation metric and loss after each epoch; stops on recovery, plateau or cap; restores the best."""

        def __init__(self) -> None:
            super().__init__()
            self.cap = recovery.cap(cut)
            self.epochs, self.reason = 0, "cap"
            self.best_loss: float | None = None
            self.best_weights: list[Any] | None = None
            self.best_epoch = 0

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.epochs = epoch + 1
            if self.epochs < RAMP_EPOCHS:
                return
            value = task.quality(self.model, x_val, y_val)
            loss = validation_loss(self.model, x_val, y_val, task)
            if self.best_loss is None or loss < self.best_loss:
                self.best_loss, self.best_weights, self.best_epoch = loss, self.model.get_weights(), self.epochs
            if drop(task, recovery.baseline, value) <= recovery.tolerance + 1e-9 and loss <= recovery.baseline_loss:
                self.reason, self.model.stop_training = "recovered", True
            elif self.epochs - self.best_epoch >= recovery.patience:
                self.reason, self.model.stop_training = "plateau", True
            elif self.epochs >= self.cap:
                self.reason, self.model.stop_training = "cap", True

        def on_train_end(self, logs: Any = None) -> None:
            if self.reason != "recovered" and self.best_weights is not None and self.best_epoch != self.epochs:
                self.model.set_weights(self.best_weights)

    return RecoveryStop()
