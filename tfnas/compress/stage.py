"""The compression stage contract: what a stage checks, applies, trains with and strips.

`tfnas.compress` takes a list of `Stage` objects (`stages=[Prune(0.5), QAT()]`,
or the list its keyword arguments build in `plan.stages_from_kwargs`) and
hands them to the `Runner`, which checks nothing itself: each stage checks its
own arguments in its constructor, and `compress` calls every stage's `check`
against the model before the runner fine-tunes anything.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any
from typing import ClassVar

from tfnas.task import Task


@dataclasses.dataclass
class StageContext:
    """What the stages of one `compress` run share, as plain data.

    Attributes:
        x_val: Held-out inputs every stage is measured on.
        y_val: Held-out labels or targets.
        task: the `Task` (classification or regression).
        fit_steps: Optimizer steps of one stage's fine-tuning (batches per epoch times epochs; with
            `epochs=None`, times `recovery.RAMP_EPOCHS`): pruning reaches its sparsity at 70% of them.
        architecture: The Keras 3 model whose architecture the working tf_keras
            model has (the input model, or the last architecture a stage built).
        space: The `EdgeSpace` that built `architecture` (None once a stage changed it).
        hp: The `kt.HyperParameters` of `architecture` in `space`.
        skipped: stage name -> {layer name: why the stage left it alone}.
        changed: stage name -> the layers whose weights the stage constrained
            (pruned zeros, shared values): what later stages must keep.
        done: names of the stages fine-tuned so far, in order.
        notes: what the user should know (e.g. zeros a stage lost).
        samples: `(x, y)`, up to 512 samples of the fine-tuning data, for
            stages that choose by the data (Taylor ranking, sensitivity).
    """

    x_val: Any
    y_val: Any
    task: Task
    fit_steps: int
    architecture: Any
    space: Any = None
    hp: Any = None
    skipped: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    changed: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    done: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    samples: tuple[Any, Any] | None = None

    def layers_changed(self) -> set[str]:
        """Names of the layers any stage so far changed."""
        return {name for names in self.changed.values() for name in names}


class Stage(abc.ABC):
    """One optional compression stage of `tfnas.compress`.

    The runner calls, for each stage in order: `apply` (wrap or transform the
    model), then fine-tunes what it returned with the stage's `callbacks`
    (the same optimizer, loss and data for every stage), then `strip` (remove
    the training wrappers), then measures the stripped model (its weights
    through `stats_model`). `compress` calls every stage's `check` before the
    runner starts, so a bad argument fails before any training.

    Only `name` and `apply` are required; the other methods are hooks with
    defaults. A custom stage runs where it stands in `compress(stages=[...])`.

    Example:

    ```python
    class Freeze(Stage):
        name = "freeze"

        def apply(self, model, context):
            model.layers[0].trainable = False
            return model
    ```

    Attributes:
        name: The stage's name in `StageReport.stage` and `skipped_layers`.
        changes_architecture: True for a stage whose `apply` takes the Keras 3
            model and returns a new Keras 3 architecture (built with
            `graph.rebuild`); the runner carries it to tf_keras to fine-tune.
            False (the default): `apply` takes and returns tf_keras models.
        learning_rate_scale: The stage's peak fine-tuning learning rate as a
            share of the run's (`learning_rate=`): QAT's is lower, since it
            only adapts trained weights to their quantization.
    """

    name: ClassVar[str]
    changes_architecture: ClassVar[bool] = False
    learning_rate_scale: ClassVar[float] = 1.0

    def get_config(self) -> dict[str, Any]:
        """The stage's constructor arguments by name (what `repr` shows). Defaults to none."""
        return {}

    def keywords(self) -> dict[str, Any]:
        """The keyword arguments of `tfnas.compress` that build this stage (`CompressionResult.settings`). Defaults to none."""
        return {}

    def expand(self) -> list[Stage]:
        """The stages the runner runs for this one, in order. Defaults to the stage itself.

        A stage of several fine-tuned steps (`PruneChannels(steps=2)`) returns one stage per step.
        """
        return [self]

    def check(self, model: Any, task: Task) -> None:
        """Checks the stage's arguments against the model, before any training.

        Args:
            model: The user's Keras 3 model.
            task: "classification" or "regression".

        Raises:
            TfnasInputError: naming what was received and what to pass instead.
        """

    @abc.abstractmethod
    def apply(self, model: Any, context: StageContext) -> Any | None:
        """Wraps or transforms the model for fine-tuning.

        Args:
            model: A tf_keras model (a Keras 3 model if `changes_architecture`).
            context: The run's shared data; record skipped and changed layers there.

        Returns:
            The model to fine-tune, or None when the stage finds nothing to
            change (then it is neither fine-tuned nor measured).
        """

    def cut(self) -> float:
        """How much of the model the stage takes away, in [0, 1]. Defaults to 0 (nothing).

        With `epochs=None` a stage fine-tunes for at most a cap that grows
        with its cut (`recovery.Recovery.cap`). The runner measures the cut of
        a stage that `changes_architecture` itself: the share of MACs removed.
        """
        return 0.0

    def callbacks(self) -> list[Any]:
        """The Keras callbacks the stage's fine-tuning needs. Defaults to none."""
        return []

    def strip(self, model: Any, context: StageContext) -> Any:
        """Removes the training wrappers after fine-tuning. Defaults to the model as it is.

        Args:
            model: The fine-tuned model `apply` returned.
            context: The run's shared data.

        Returns:
            The tf_keras model the next stage starts from.
        """
        return model

    def stats_model(self, model: Any, context: StageContext) -> Any:
        """The model whose weights the stage's report counts. Defaults to the stripped model."""
        return model

    def __repr__(self) -> str:
        arguments = ", ".join(f"{name}={value!r}" for name, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"
