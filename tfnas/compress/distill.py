"""Knowledge distillation as a loss: the teacher's softened outputs become part of the targets.

The teacher is fixed and the data are arrays, so its outputs are computed once
and packed next to the labels (`pack`); the student then trains with
`DistillationLoss` through a plain `model.fit`. This keeps every TF-MOT
wrapper and callback (pruning steps, clustering, QAT) working unchanged,
which a custom training loop around two models would not.

Loss (Hinton et al. 2015): `alpha * CE(y, student) + (1 - alpha) * T^2 *
KL(softmax(teacher / T) || softmax(student / T))`, with logits recovered as
`log(p)` from models that end in softmax.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfnas.errors import TfnasInputError


def soft_targets(teacher: Any, x: np.ndarray, temperature: float, batch_size: int = 256) -> np.ndarray:
    """The teacher's class probabilities softened by `temperature`, shape (n, classes)."""
    outputs = np.asarray(teacher.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)
    logits = _logits(outputs, ends_in_softmax(teacher)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)


def pack(y: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """Labels and soft targets side by side: column 0 the class id, then the probabilities."""
    if soft.shape[0] != len(y):
        raise TfnasInputError(f"The teacher gave {soft.shape[0]} outputs for {len(y)} labels.")
    return np.concatenate([np.asarray(y, dtype=np.float32).reshape(-1, 1), soft], axis=1)


def check_teacher(teacher: Any, student: Any) -> None:
    """Fails before training when the teacher cannot teach this student."""
    if not hasattr(teacher, "predict"):
        raise TfnasInputError(
            f"distill_from must be a trained Keras model. You passed an object of type: {type(teacher).__name__}."
        )
    if tuple(teacher.input_shape[1:]) != tuple(student.input_shape[1:]):
        raise TfnasInputError(
            f"The teacher takes inputs of shape {tuple(teacher.input_shape[1:])}, the student "
            f"{tuple(student.input_shape[1:])}: distil with a teacher trained on the same data."
        )
    if teacher.output_shape[-1] != student.output_shape[-1]:
        raise TfnasInputError(
            f"The teacher has {teacher.output_shape[-1]} outputs, the student {student.output_shape[-1]}: "
            "both must predict the same classes."
        )


def ends_in_softmax(model: Any) -> bool:
    """True when the model's last layer outputs probabilities (softmax), False for logits."""
    last = model.layers[-1]
    last = getattr(last, "layer", last)  # TF-MOT wrappers
    activation = getattr(last, "activation", None)
    return type(last).__name__ == "Softmax" or getattr(activation, "__name__", str(activation)) == "softmax"


class DistillationLoss:
    """`alpha * CE(labels) + (1 - alpha) * T^2 * KL(teacher || student)` on packed targets.

    Args:
        temperature: Softening temperature T (> 0).
        alpha: Weight of the label loss, in [0, 1].
        from_softmax: The student ends in softmax (its logits are `log(p)`).
    """

    def __init__(self, temperature: float = 4.0, alpha: float = 0.1, from_softmax: bool = True) -> None:
        if not temperature > 0:
            raise TfnasInputError(f"temperature must be > 0. Received: temperature={temperature!r}")
        if not 0.0 <= alpha <= 1.0:
            raise TfnasInputError(f"distill_alpha must lie in [0, 1]. Received: {alpha!r}")
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.from_softmax = from_softmax
        self.__name__ = "distillation_loss"

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        import tensorflow as tf

        labels = tf.cast(y_true[:, 0], tf.int32)
        teacher = y_true[:, 1:]
        logits = tf.math.log(tf.clip_by_value(y_pred, 1e-7, 1.0)) if self.from_softmax else y_pred
        hard = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        student = tf.nn.log_softmax(logits / self.temperature, axis=-1)
        kl = tf.reduce_sum(teacher * (tf.math.log(tf.clip_by_value(teacher, 1e-7, 1.0)) - student), axis=-1)
        return self.alpha * hard + (1.0 - self.alpha) * self.temperature**2 * kl


def _logits(outputs: np.ndarray, from_softmax: bool) -> np.ndarray:
    return np.log(np.clip(outputs, 1e-7, 1.0)) if from_softmax else outputs
