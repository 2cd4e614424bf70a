"""`Task`: classification or regression, and everything that follows from it.

Which labels mean which task, the objective a search tracks, the loss and
metric models compile with, the metric files are verified on and how many
samples calibrate int8: each is decided here once, so the search, the spaces,
compression, export and verification cannot disagree (bool labels, say, are
class ids everywhere).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tfnas.errors import TfnasInputError

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)
# Inputs kept to calibrate full-int8 conversion: TFLite's converter needs a few hundred.
CALIBRATION_SAMPLES = 200
# A prediction pass (a model called batch by batch: `Task.quality`, the one-shot search's scoring) takes at most this
# many samples at once, and at most `PREDICT_BYTES` of float32 inputs: at 96x96x3 a batch of 256 ran the largest
# sub-network's expanded layers on 226 MB tensors each (peak RSS +0.8 GB, eagerly); 8 MiB batches (72 images) still
# made the peak of a 20,000-image one-shot search (the supernet's validation), 4 MiB ones (36 images) do not.
PREDICT_BATCH = 256
PREDICT_BYTES = 4 * 2**20


@dataclasses.dataclass(frozen=True)
class Task:
    """A learning task: `"classification"` (integer class ids) or `"regression"` (float targets).

    Example:

    ```python
    task = Task.resolve(None, y)          # inferred: integer or bool labels -> classification
    task.objective                        # ("val_accuracy", "max")
    task.score(model.predict(x), y)       # accuracy, or mean absolute error
    ```

    Args:
        kind: str, `"classification"` or `"regression"`.

    Raises:
        TfnasInputError: any other kind.
    """

    kind: str

    def __post_init__(self) -> None:
        if self.kind not in TASKS:
            raise TfnasInputError(f"Unknown task {self.kind!r}: use one of {TASKS} or leave it to be inferred from y.")

    @classmethod
    def resolve(cls, task: str | Task | None, y: Any = None) -> Task:
        """The task named by `task`, else the one `y`'s dtype implies (integers and bools: classification)."""
        if isinstance(task, Task):
            return task
        if task is not None:
            return cls(task)
        if y is None:
            raise TfnasInputError(f"No task and no labels to infer it from: pass task= one of {TASKS}.")
        return cls(CLASSIFICATION if np.asarray(y).dtype.kind in "biu" else REGRESSION)

    @property
    def is_classification(self) -> bool:
        """True for classification."""
        return self.kind == CLASSIFICATION

    @property
    def objective(self) -> tuple[str, str]:
        """`(metric, direction)` a search ranks trials by (each trial's last epoch's value)."""
        return ("val_accuracy", "max") if self.is_classification else ("val_loss", "min")

    @property
    def loss(self) -> str:
        """The Keras loss name models compile with (Keras 3 and tf_keras alike)."""
        return "sparse_categorical_crossentropy" if self.is_classification else "mse"

    @property
    def head_activation(self) -> str | None:
        """The activation of a model's last layer."""
        return "softmax" if self.is_classification else None

    @property
    def metric(self) -> str:
        """The metric trials report beside the loss and files are verified on: `accuracy` or `mae`."""
        return "accuracy" if self.is_classification else "mae"

    @property
    def calibration_samples(self) -> int:
        """Training inputs kept to calibrate full-int8 conversion (`CALIBRATION_SAMPLES`)."""
        return CALIBRATION_SAMPLES

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger `metric` is better."""
        return self.is_classification

    def score(self, outputs: np.ndarray, y: np.ndarray) -> float:
        """`metric` of model outputs (one row per sample) against labels or targets."""
        y = np.asarray(y)
        rows = np.asarray(outputs).reshape(len(y), -1)
        if self.is_classification:
            return float(np.mean(rows.argmax(axis=1) == y.reshape(-1)))
        return float(np.mean(np.abs(rows - y.astype(np.float32).reshape(len(y), -1))))

    def quality(self, model: Any, x: Any, y: np.ndarray, batch_size: int | None = None) -> float:
        """`metric` of any Keras model (Keras 3 or tf_keras) on arrays.

        The model is called batch by batch rather than through `predict`,
        which traces a new function per model (and warns about it when many
        models are scored in a loop). `x` is an array or `FileImages` (decoded a
        batch at a time); batches are `predict_batch(x)` samples unless
        `batch_size` is given: a 20,000-image search's peak memory was 256
        96x96x3 images through a model eagerly.
        """
        batch_size = batch_size or predict_batch(x)
        outputs = [np.asarray(model(x[i : i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
        return self.score(np.concatenate(outputs), y)

    def agree(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per sample, whether two runtimes' raw outputs give the same answer (class, or identical values)."""
        if self.is_classification:
            return a.argmax(axis=1) == b.argmax(axis=1)
        return np.all(a == b, axis=1)


def predict_batch(x: Any) -> int:
    """The batch size a prediction pass over `x` takes: `PREDICT_BATCH`, fewer where the inputs are large (one size per
    input shape, so `tfnas.image_files.FileImages` keep one decoded cache for every caller)."""
    per_sample = 4 * int(np.prod(x.shape[1:]))
    return int(max(1, min(PREDICT_BATCH, PREDICT_BYTES // max(1, per_sample))))
