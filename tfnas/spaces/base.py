"""`EdgeSpace`: the keras-tuner HyperModel base class of tfnas search spaces.

A space is created with its searchable ranges (tuples of choices, the first
one being the default that the first trial uses) and, once the data is known,
`configure`d with the input shape, the output width and the task. It builds the
same architecture with Keras 3 (for the search) or tf_keras (for TF-MOT), so
weights can move between the two layer by layer.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any
from typing import ClassVar

import keras
import keras_tuner as kt

from tfnas.constraints import Constraints
from tfnas.errors import TfnasInputError
from tfnas.spaces.ranges import Validator
from tfnas.spaces.ranges import float_choices
from tfnas.spaces.ranges import is_int
from tfnas.task import Task


class EdgeSpace(kt.HyperModel):
    """Base class of the tfnas search spaces: keras-tuner HyperModels for edge devices.

    Subclasses set `space_name`, `input_rank`, `summary_keys` and `RANGES`
    (range name -> validator), and implement `_body`. The base adds the
    Dropout + Dense head (softmax for classification, linear for regression)
    and compiles with Adam: loss sparse_categorical_crossentropy and metric
    accuracy, or loss mse and metric mae. Every space has the hps `dropout`
    and `learning_rate`.

    Two optional hooks tell the search about the space; each has a default
    here: `summary_keys` (the hyperparameters progress lines show; default
    `dropout` and `learning_rate`) and `initial_points()` (values proposed
    first; default none). A plain `kt.HyperModel` passed as the space gets
    the defaults (`tfnas.spaces.resolve.initial_points_of`, `summary_keys_of`).

    Args:
        input_shape: Shape of one sample without the batch axis; usually left
            out and set by `configure` once the data is known.
        num_outputs: Number of classes (classification, >= 2) or output
            width (regression, >= 1); usually set by `configure`.
        task: "classification" or "regression".
        name: Model and HyperModel name; defaults to `space_name`.
        **ranges: Searchable ranges by name (see each subclass); each is a
            tuple of choices, or one value to fix it. The first choice is the
            default, which the first trial uses.

    Example:
        >>> space = MLPSpace(units=(16, 32)).configure((20,), 3, "classification")
        >>> model = space.build(kt.HyperParameters())
    """

    space_name: ClassVar[str] = "edge"
    input_rank: ClassVar[int] = 0
    summary_keys: ClassVar[tuple[str, ...]] = ("dropout", "learning_rate")
    RANGES: ClassVar[dict[str, Validator]] = {
        "dropout": float_choices(0.0, 1.0),
        "learning_rate": float_choices(0.0, 1.0, include_low=False),
    }

    def __init__(
        self,
        input_shape: tuple[int, ...] | None = None,
        num_outputs: int | None = None,
        task: str = "classification",
        name: str | None = None,
        **ranges: Any,
    ) -> None:
        super().__init__(name=name or self.space_name, tunable=True)
        unknown = sorted(set(ranges) - set(self.RANGES))
        if unknown:
            raise TfnasInputError(
                f"{type(self).__name__} got unknown range(s) {unknown}; valid ranges: {sorted(self.RANGES)}."
            )
        self._ranges = {key: check(key, ranges[key]) for key, check in self.RANGES.items() if key in ranges}
        missing = sorted(set(self.RANGES) - set(self._ranges))
        if missing:
            raise TfnasInputError(
                f"{type(self).__name__} needs values for ranges {missing}: pass them as tuples of choices."
            )
        self.task = self._check_task(task)
        self.input_shape = None if input_shape is None else self._check_input_shape(input_shape)
        self.num_outputs = None if num_outputs is None else self._check_num_outputs(num_outputs, self.task)

    @property
    def ranges(self) -> dict[str, tuple]:
        """The searchable ranges of this space (a copy), by range name."""
        return dict(self._ranges)

    @property
    def configured(self) -> bool:
        """True once both `input_shape` and `num_outputs` are set."""
        return self.input_shape is not None and self.num_outputs is not None

    def configure(self, input_shape: tuple[int, ...], num_outputs: int, task: str = "classification") -> EdgeSpace:
        """Returns a copy of this space set up for the data; this space is left unchanged.

        Args:
            input_shape: Shape of one sample, without the batch axis.
            num_outputs: Number of classes (classification) or output width
                (regression).
            task: "classification" or "regression".

        Returns:
            A new space of the same class, with the same ranges and name.
        """
        space = type(self)(input_shape=input_shape, num_outputs=num_outputs, task=task, name=self.name, **self._ranges)
        space.tunable = self.tunable
        return space

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        """Builds and compiles one Keras 3 model of the space (what keras-tuner calls)."""
        return self.build_with(hp, keras)

    def build_with(self, hp: kt.HyperParameters, keras_module: ModuleType) -> Any:
        """Builds and compiles the architecture chosen by `hp` with the given Keras module.

        Args:
            hp: The hyperparameters; unseen ones are registered with defaults.
            keras_module: `keras` (Keras 3) or `tf_keras`; the layers, their
                order and their weight shapes are the same with either.

        Returns:
            A compiled functional model of `keras_module`.

        Raises:
            TfnasInputError: The space has no input shape or output width yet.
        """
        if not self.configured:
            raise TfnasInputError(
                f"{type(self).__name__} is not configured (input_shape={self.input_shape}, "
                f"num_outputs={self.num_outputs}): call space.configure(input_shape, num_outputs, task) "
                "or pass input_shape= and num_outputs= to the constructor before build()."
            )
        k = keras_module
        inputs = k.Input(shape=self.input_shape, name="input")
        x = self._body(hp, k, inputs)
        rate = hp.Choice("dropout", list(self._ranges["dropout"]))
        x = k.layers.Dropout(rate, name="dropout")(x)
        activation = Task(self.task).head_activation
        outputs = k.layers.Dense(self.num_outputs, activation=activation, name="head")(x)
        model = k.Model(inputs, outputs, name=self.name)
        learning_rate = hp.Choice("learning_rate", list(self._ranges["learning_rate"]))
        model.compile(
            optimizer=k.optimizers.Adam(learning_rate=learning_rate),
            loss=self.loss,
            metrics=list(self.metrics),
        )
        return model

    def for_limits(self, constraints: Constraints | None) -> EdgeSpace:
        """This space for a search under `constraints` (the same space here).

        `tfnas.search` calls it before `configure`; a space whose ranges
        follow the budget (`ImageSpace`) returns a copy that knows it.
        """
        return self

    def initial_points(self) -> list[dict[str, Any]]:
        """Hyperparameter values a search proposes first, before its strategy's own (none here).

        `tfnas.search` queues them after any warm start; a `FamilySpace`
        gives one per family, each at its defaults, so every family is
        tried once before a strategy settles on one.
        """
        return []

    @property
    def loss(self) -> str:
        """The compile loss for the task."""
        return Task(self.task).loss

    @property
    def metrics(self) -> tuple[str, ...]:
        """The compile metrics for the task."""
        return (Task(self.task).metric,)

    def _body(self, hp: kt.HyperParameters, k: ModuleType, inputs: Any) -> Any:
        """Builds the layers between the input and the head; returns a rank-2 tensor."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(input_shape={self.input_shape}, num_outputs={self.num_outputs}, "
            f"task={self.task!r}, name={self.name!r}, ranges={self._ranges})"
        )

    @staticmethod
    def _check_task(task: Any) -> str:
        return Task.resolve(task).kind

    def _check_input_shape(self, input_shape: Any) -> tuple[int, ...]:
        try:
            shape = tuple(input_shape)
        except TypeError:
            shape = None
        if shape is None or not all(is_int(d) and d > 0 for d in shape):
            raise TfnasInputError(
                f"input_shape={input_shape!r} must be a tuple of positive ints without the batch axis, e.g. (8, 8, 1)."
            )
        if len(shape) != self.input_rank:
            raise TfnasInputError(
                f"{type(self).__name__} takes inputs of rank {self.input_rank} ({self._rank_hint()}), but "
                f"input_shape={shape} has rank {len(shape)}: reshape the data or use space='auto' "
                "(rank 1 -> 'mlp', rank 2 -> 'signals', rank 3 -> 'images' or 'spectrograms')."
            )
        return tuple(int(d) for d in shape)

    def _rank_hint(self) -> str:
        return "a shape without the batch axis"

    @staticmethod
    def _check_num_outputs(num_outputs: Any, task: str) -> int:
        low = 2 if Task(task).is_classification else 1
        if not is_int(num_outputs) or num_outputs < low:
            what = "the number of classes (>= 2)" if Task(task).is_classification else "the output width (>= 1)"
            raise TfnasInputError(f"num_outputs={num_outputs!r} must be {what} for task={task!r}.")
        return int(num_outputs)
