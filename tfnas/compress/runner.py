"""The stage runner: for each checked stage, apply -> fine-tune (for `epochs`, or to recovery) -> strip -> measure."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

from tfnas import _compat
from tfnas._voice import say
from tfnas._voice import silenced
from tfnas.compress.bridge import to_keras3
from tfnas.compress.bridge import to_tf_keras
from tfnas.compress.measure import weight_stats
from tfnas.compress.recovery import Recovery
from tfnas.compress.recovery import stopper
from tfnas.compress.recovery import validation_loss
from tfnas.compress.result import StageReport
from tfnas.compress.stage import Stage
from tfnas.compress.stage import StageContext
from tfnas.cost import profile
from tfnas.training import Training

# Samples the bridge to tf_keras compares the two models on.
BRIDGE_SAMPLES = 32


@dataclasses.dataclass
class FineTuning:
    """How every stage fine-tunes: the search's `Training` recipe from one peak learning rate, one loss, the same data.

    Attributes:
        x: Training inputs.
        targets: What `loss` compares the outputs with (labels, or labels and
            the teacher's soft targets packed side by side).
        loss: A tf_keras loss.
        learning_rate: The peak learning rate of each stage's schedule.
        epochs: Epochs per stage, or None: each stage fine-tunes until it
            recovers (`recovery`), up to a cap that scales with its cut.
        batch_size: Batch size.
        verbose: Keras's `fit` verbosity.
        training: The recipe (`Training.fine_tuning()` of the search's):
            schedule, weight decay and augmentation.
        tolerance: With `epochs=None`: how far below the uncompressed model's
            validation metric counts as recovered.
        patience: With `epochs=None`: epochs without improvement before a stage stops.
    """

    x: Any
    targets: Any
    loss: Any
    learning_rate: float
    epochs: int | None
    batch_size: int
    verbose: int = 0
    training: Training = dataclasses.field(default_factory=lambda: Training().fine_tuning())
    tolerance: float = 0.0
    patience: int = 3

    def fit(self, model: Any, callbacks: list[Any], epochs: int | None = None) -> float:
        """Compiles `model` with a fresh optimizer on the recipe's schedule and `loss`, fits it, and returns the seconds it
        took. `epochs` (the schedule's length; a callback may stop earlier) defaults to `self.epochs`."""
        epochs = epochs or self.epochs
        assert epochs is not None
        dataset = self.training.dataset(self.x, self.targets, self.batch_size)
        steps = -(-len(self.x) // self.batch_size)
        optimizer = self.training.optimizer(self.learning_rate, steps * epochs, steps, keras_module=_compat.tf_keras())
        model.compile(optimizer=optimizer, loss=self.loss)
        start = time.perf_counter()
        model.fit(dataset, epochs=epochs, callbacks=callbacks, verbose=self.verbose)
        return time.perf_counter() - start


class Runner:
    """Runs stages in order, fine-tuning and measuring each one on the held-out data.

    The stages must be checked (`Stage.check`) before `run`: the runner
    trains from its first stage on.

    Args:
        fine_tuning: How every stage fine-tunes.
        verbose: 1 prints a line per stage.
    """

    def __init__(self, fine_tuning: FineTuning, verbose: int = 0) -> None:
        self.fine_tuning = fine_tuning
        self.verbose = verbose

    def run(self, model: Any, stages: Sequence[Stage], context: StageContext) -> tuple[Any, list[StageReport]]:
        """Measures `model`, then applies, fine-tunes, strips and measures each stage.

        Args:
            model: The user's Keras 3 model (`context.architecture` at the start).
            stages: Checked stages, in the order they run.
            context: The run's shared data; stages record in it what they did.

        Returns:
            The last stage's tf_keras model (the bridged input model when no
            stage changed anything), and one `StageReport` per stage, the
            input model's ("float") first.
        """
        with silenced(self.verbose):  # TensorFlow's and TF-MOT's warnings held back (`tfnas._voice`)
            return self._run(model, stages, context)

    def _run(self, model: Any, stages: Sequence[Stage], context: StageContext) -> tuple[Any, list[StageReport]]:
        reports = [self.measure("float", model, model, context)]
        baseline = (reports[0].value, validation_loss(model, context.x_val, context.y_val, context.task))
        working = None
        for stage in stages:
            if stage.changes_architecture:
                source = context.architecture if working is None else to_keras3(working, context.architecture)
            else:
                working = self._bridge(context) if working is None else working
                source = working
            trainable = stage.apply(source, context)
            if trainable is None:
                continue
            if stage.changes_architecture:
                context.architecture, context.space, context.hp = trainable, None, None
                trainable = self._bridge(context)
            untuned = context.task.quality(trainable, context.x_val, context.y_val) if stage.changes_architecture else None
            cut = 1.0 - profile(context.architecture).macs / max(profile(source).macs, 1) if stage.changes_architecture else None
            seconds, epochs, reason = self._fine_tune(stage, trainable, context, baseline, cut)
            working = stage.strip(trainable, context)
            context.done.append(stage.name)
            stats_model = stage.stats_model(working, context)
            reports.append(self.measure(stage.name, working, stats_model, context, reports[0], seconds, epochs))
            reports[-1].value_before_tuning, reports[-1].stop_reason = untuned, reason
        return (self._bridge(context) if working is None else working), reports

    def _fine_tune(
        self, stage: Stage, model: Any, context: StageContext, baseline: tuple[float, float], cut: float | None
    ) -> tuple[float, int, str]:
        """Fine-tunes `model` for the stage: `(seconds, epochs run, why it stopped)`.

        With fixed epochs the reason is "epochs"; with `epochs=None`,
        "recovered", "plateau" or "cap" (`recovery.stopper`); `cut` is an
        architecture stage's share of MACs removed, else the stage's own `cut`;
        `baseline` the original's validation metric and loss.
        """
        tuning = self.fine_tuning
        if stage.learning_rate_scale != 1.0:
            tuning = dataclasses.replace(tuning, learning_rate=tuning.learning_rate * stage.learning_rate_scale)
        if tuning.epochs is not None:
            return tuning.fit(model, stage.callbacks()), tuning.epochs, "epochs"
        recovery = Recovery(*baseline, tolerance=tuning.tolerance, patience=tuning.patience)
        stop = stopper(recovery, stage.cut() if cut is None else cut, context.x_val, context.y_val, context.task)
        seconds = tuning.fit(model, [*stage.callbacks(), stop], epochs=stop.cap)
        return seconds, stop.epochs, stop.reason

    def measure(
        self,
        stage: str,
        model: Any,
        stats_model: Any,
        context: StageContext,
        base: StageReport | None = None,
        seconds: float = 0.0,
        epochs: int = 0,
    ) -> StageReport:
        """The report of one stage: `model`'s quality, `stats_model`'s weights, both against `base`.

        Args:
            stage: The stage's name.
            model: The model whose outputs are measured.
            stats_model: The model whose weights are counted.
            context: Holds the held-out data and the task.
            base: The input model's report, or None for the input model itself.
            seconds: Fine-tuning wall time.
            epochs: Fine-tuning epochs.

        Returns:
            A `StageReport`.
        """
        stats: dict[str, Any] = weight_stats(stats_model)
        value = context.task.quality(model, context.x_val, context.y_val)
        metric = context.task.metric
        costs = profile(context.architecture)
        report = StageReport(
            stage, metric, value, **stats, seconds=seconds, epochs=epochs, macs=costs.macs, tflite_bytes=costs.tflite_bytes,
            peak_ram_bytes=costs.peak_ram_bytes,
        )
        if base is not None:
            report.compression_rate = (base.nonzero_params - report.nonzero_params) / max(base.nonzero_params, 1)
            report.macs_rate = (base.macs - report.macs) / max(base.macs, 1)
            report.params_rate = (base.params - report.params) / max(base.params, 1)
            sign = 1.0 if context.task.higher_is_better else -1.0
            report.performance_loss = sign * (base.value - report.value) / base.value if base.value else 0.0
        if self.verbose:
            say(f"[tfnas.compress] {stage}: {metric} {value:.4f}, {stats['nonzero_params']:,} non-zero weights, {seconds:.1f}s")
        return report

    @staticmethod
    def _bridge(context: StageContext) -> Any:
        """The tf_keras twin of `context.architecture` (through the space's builder when it is known)."""
        return to_tf_keras(context.architecture, context.x_val[:BRIDGE_SAMPLES], space=context.space, hp=context.hp)
