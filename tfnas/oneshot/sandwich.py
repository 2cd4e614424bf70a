"""The sandwich rule with in-place distillation: which sub-networks one supernet step trains, and on what.

Each step trains the largest sub-network on the labels, then the smallest
and a few random ones on the largest's outputs (its predicted class
probabilities, gradient stopped), as in slimmable networks and BigNAS (Yu
et al., 2019, 2020). The largest and the smallest bound every other
sub-network, so both ends of the space are trained every step; the soft
targets of the largest are a better signal for a small sub-network than
hard labels. The losses are summed, so the gradients of all sub-networks
accumulate into one optimizer update.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfnas.oneshot.base_supernet import BaseSupernet
from tfnas.oneshot.families import family_of
from tfnas.oneshot.family import BaseSubnet
from tfnas.oneshot.subnet import choices
from tfnas.spaces import EdgeSpace
from tfnas.task import Task

# Training hps, not architecture: a sampled sub-network keeps their defaults (one optimizer trains the supernet).
TRAINING_HPS = ("dropout", "learning_rate")

SampleFn = Callable[[np.random.Generator], Mapping[str, Any]]


def largest(space: EdgeSpace) -> dict[str, Any]:
    """The hp values of the most-compute sub-network: widest, deepest, largest kernels and expansions, finest strides."""
    return _extreme(space, 0)


def smallest(space: EdgeSpace) -> dict[str, Any]:
    """The hp values of the least-compute sub-network: narrowest, shallowest, smallest kernels, coarsest strides."""
    return _extreme(space, 1)


def _extreme(space: EdgeSpace, end: int) -> dict[str, Any]:
    """Every hp at its largest (`end` 0) or smallest (`end` 1) compute; switches without an order keep their default."""
    family = family_of(space)
    return {name: family.extreme(name, options, end) for name, options in family.choices(space).items()}


def random_subnet(space: EdgeSpace, rng: np.random.Generator) -> dict[str, Any]:
    """A sub-network drawn uniformly from the space's choices, hp by hp (training hps keep their defaults)."""
    return {
        name: options[0] if name in TRAINING_HPS else options[int(rng.integers(len(options)))]
        for name, options in choices(space).items()
    }


def sandwich_losses(
    supernet: BaseSupernet,
    x: Any,
    y: Any,
    students: Sequence[Mapping[str, Any] | BaseSubnet],
    *,
    label_smoothing: float = 0.0,
    distill: bool = True,
    training: bool = True,
) -> list[Any]:
    """The losses of one sandwich step: the largest sub-network's on the labels, then each student's.

    Example:
        ```python
        teacher_loss, smallest_loss = sandwich_losses(supernet, x, y, [smallest(space)])
        ```

    Args:
        supernet: The supernet.
        x: A batch of inputs.
        y: Its integer class labels (classification) or targets (regression).
        students: The other sub-networks of the step (the smallest, then random ones).
        label_smoothing: Label smoothing of the largest's cross-entropy. Defaults to 0.
        distill: Whether students learn from the largest's outputs (in-place
            distillation, gradient stopped) or, when False, from the labels. Defaults to True.
        training: Whether the supernet runs in training mode. Defaults to True.

    Returns:
        Scalar losses: the largest's first, then one per student.
    """
    return _forward(supernet, x, y, students, label_smoothing, distill, training)[0]


def _forward(
    supernet: BaseSupernet, x: Any, y: Any, students: Sequence[Any], smoothing: float, distill: bool, training: bool
) -> tuple[list[Any], list[Any], Any]:
    """The sandwich losses, the students' outputs and the targets."""
    task = Task(supernet.space.task)
    target = targets(task, y, supernet.space.num_outputs)
    teacher = supernet(x, training=training, values=largest(supernet.space))
    losses = [loss(task, target, teacher, smoothing)]
    soft = ops.stop_gradient(teacher) if distill else target
    outputs = []
    for values in students:
        output = supernet(x, training=training, values=values)
        losses.append(loss(task, soft, output, 0.0))
        outputs.append(output)
    return losses, outputs, target


def sandwich_step(
    supernet: BaseSupernet,
    optimizer: keras.optimizers.Optimizer | GraphApply,
    x: Any,
    y: Any,
    students: Sequence[Mapping[str, Any] | BaseSubnet],
    *,
    label_smoothing: float = 0.0,
    distill: bool = True,
) -> dict[str, float]:
    """One optimizer update on the summed losses of the largest sub-network and `students`.

    The forward and backward passes run eagerly (each sub-network is another
    graph); pass a `GraphApply` as `optimizer` to run the update as a graph.

    Returns:
        `loss_largest`, `loss_smallest` (the first student's), `loss_random`
        (the mean of the others', when any) and `label_loss_smallest` (the
        first student's loss on the labels, which it does not train on).
    """
    with tf.GradientTape() as tape:
        losses, outputs, target = _forward(supernet, x, y, students, label_smoothing, distill, True)
        total = ops.sum(ops.stack(losses))
    variables = supernet.trainable_variables
    pairs = [(g, v) for g, v in zip(tape.gradient(total, variables), variables, strict=True) if g is not None]
    optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
    logs = {"loss_largest": float(losses[0])}
    if students:
        logs["loss_smallest"] = float(losses[1])
        logs["label_loss_smallest"] = float(loss(Task(supernet.space.task), target, outputs[0], 0.0))
    if len(students) > 1:
        logs["loss_random"] = float(np.mean([float(value) for value in losses[2:]]))
    return logs


class GraphApply:
    """An optimizer's `apply`, run as one TensorFlow graph per set of variables updated (eager, it is 1/4 of a step).

    Args:
        optimizer: A Keras 3 optimizer, built on the supernet's trainable variables.
    """

    def __init__(self, optimizer: keras.optimizers.Optimizer) -> None:
        self.optimizer = optimizer
        self._graphs: dict[tuple[int, ...], Callable[[list[Any]], Any]] = {}

    def apply(self, grads: Sequence[Any], variables: Sequence[Any]) -> None:
        """Updates `variables` with `grads` (same order), tracing a graph the first time this set is updated."""
        key = tuple(id(variable) for variable in variables)
        if key not in self._graphs:
            self._graphs[key] = self._graph(list(variables))
        self._graphs[key](list(grads))

    def _graph(self, variables: list[Any]) -> Callable[[list[Any]], Any]:
        def apply(grads: list[Any]) -> None:
            self.optimizer.apply(grads, variables)

        return tf.function(apply, autograph=False)


def targets(task: Task, y: Any, classes: int) -> Any:
    """One-hot rows for class labels, float rows for regression targets."""
    if task.is_classification:
        return ops.one_hot(ops.cast(ops.reshape(y, (-1,)), "int32"), classes)
    return ops.reshape(ops.cast(y, "float32"), (-1, classes))


def loss(task: Task, target: Any, output: Any, smoothing: float) -> Any:
    """Mean cross-entropy against (soft) class probabilities, or mean squared error."""
    if task.is_classification:
        return ops.mean(keras.losses.categorical_crossentropy(target, output, label_smoothing=smoothing))
    return ops.mean(ops.square(target - output))
