"""`CompressOptions`: what every stage of one `tfnas.compress` run shares, declared once.

The stages say what to compress; these options say how each stage is
fine-tuned and measured: the held-out data, epochs (or fine-tuning to
recovery), distillation from the original, the accuracy floor, batch size,
learning rate, seed, the search's `Training` recipe, and how much it reports.
`tfnas.compress` reads its shared keyword arguments into one of these.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from tfnas.compress.recovery import check_recovery
from tfnas.errors import TfnasInputError
from tfnas.training import Training


@dataclasses.dataclass
class CompressOptions:
    """How every stage of one `tfnas.compress` run fine-tunes and is measured.

    Attributes:
        validation_data: `(x_val, y_val)` every stage is measured on. Defaults
            to a seeded `validation_split` of `x` held out from fine-tuning.
        epochs: Fine-tuning epochs per stage, or None: each stage fine-tunes
            until its validation metric is back within `tolerance` of the
            original's or stops improving for `patience` epochs, up to a cap
            that grows with the cut (`recovery`).
        batch_size: Fine-tuning batch size (the recipe's, when it sets one).
        learning_rate: Adam learning rate for fine-tuning. Defaults to the
            peak rate the model was trained at, at most 3e-3.
        seed: Seeds the validation split and the fine-tuning.
        verbose: 1 prints a line per stage and the summary; 2 also Keras's progress.
        training: The search's `tfnas.Training` recipe (or a dict of its fields).
        space: The `EdgeSpace` that built the model (with `hp`): the bridge to
            tf_keras then uses the space's own builder.
        hp: The model's `kt.HyperParameters` in `space`.
        device: A device profile (or its path) a latency target is priced on; given to every
            `PruneChannels` stage that has none.
        validation_split: The share of `x` held out when `validation_data` is None.
        tolerance: With `epochs=None`: how far below the original's validation
            metric a stage counts as recovered (accuracy: absolute, 0.005 is
            half a point; mae: relative).
        patience: With `epochs=None`: epochs without improvement before a stage stops.
        distill: Fine-tune on the original model's softened outputs as well
            as the labels (classification; a `Distill` stage's teacher wins).
        max_drop: The accuracy floor: with a list of strengths
            (`prune=[0.5, 0.7, 0.8]`, `channels=[...]`) or a `target`, the
            strongest step whose validation metric stays within `max_drop` of
            the original's (accuracy: absolute; mae: relative) is returned;
            the original when even the mildest breaks it. None: no floor.
    """

    validation_data: Any = None
    epochs: int | None = None
    batch_size: int = 32
    learning_rate: float | None = None
    seed: int | None = 0
    verbose: int = 0
    training: Training | Mapping[str, Any] | None = None
    space: Any = None
    hp: Any = None
    device: Any = None
    validation_split: float | None = 0.2
    tolerance: float = 0.0
    patience: int = 3
    distill: bool = False
    max_drop: float | None = None

    def __post_init__(self) -> None:
        if self.epochs is not None and (isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1):
            raise TfnasInputError(
                f"epochs must be a positive integer, or None to fine-tune each stage until it recovers. Received: "
                f"epochs={self.epochs!r}"
            )
        check_recovery(self.tolerance, self.patience)
        if not isinstance(self.distill, bool):
            raise TfnasInputError(f"distill must be True or False. Received: distill={self.distill!r}")
        drop = self.max_drop
        if drop is not None and (isinstance(drop, bool) or not isinstance(drop, (int, float)) or not 0.0 <= drop < 1.0):
            raise TfnasInputError(
                f"max_drop must lie in [0, 1), e.g. 0.01 for one accuracy point. Received: max_drop={drop!r}"
            )
        no_split = self.validation_split is None or self.validation_split == 0
        if self.epochs is None and self.validation_data is None and no_split:
            raise TfnasInputError(
                "epochs=None fine-tunes each stage until its validation metric recovers, but there is no validation data: "
                "pass validation_data=(x_val, y_val) or validation_split=0.2, or a fixed number of epochs (epochs=10)."
            )

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> CompressOptions:
        """The options among `arguments` (e.g. all of `compress`'s), by field name."""
        return cls(**{field.name: arguments[field.name] for field in dataclasses.fields(cls) if field.name in arguments})

    def recipe(self) -> Training:
        """The fine-tuning recipe: `training`'s `Training.fine_tuning()` (checked here, before any training)."""
        return Training.from_any(self.training).fine_tuning()

    def settings(self, recipe: Training, batch_size: int, learning_rate: float) -> dict[str, Any]:
        """What `CompressionResult.settings` records of these options, with the values the run used."""
        return {"epochs": self.epochs, "batch_size": batch_size, "learning_rate": float(learning_rate), "seed": self.seed,
                "training": recipe.to_dict(), "tolerance": self.tolerance, "patience": self.patience,
                "distill_original": self.distill, "max_drop": self.max_drop}


MAX_LEARNING_RATE = 3e-3
"""The highest default fine-tuning rate (the model's own peak rate, `default_learning_rate`): recovering from a cut needs
about the rate the model was trained at (bench_compress --defaults: 3e-4 and 1e-3 lost more than 2e-3 on models
trained at 3e-3)."""


def default_learning_rate(model: Any) -> float:
    """The peak learning rate the model was trained with (a schedule's initial one), at most `MAX_LEARNING_RATE`.

    `optimizer.learning_rate` of a model trained on a schedule is the rate
    the schedule ended at (0 after a cosine decay): fine-tuning from it would
    not move the weights, so a schedule's own starting rate is read instead.
    Without a compiled optimizer, or a rate that is not positive: 1e-3.
    """
    optimizer = getattr(model, "optimizer", None)
    try:
        rate = optimizer.get_config()["learning_rate"]  # type: ignore[union-attr]
        if isinstance(rate, Mapping):  # a serialized schedule: its starting rate, or the peak its warm-up reaches
            inner = rate.get("config", {})
            peaks = [inner.get(key) for key in ("initial_learning_rate", "warmup_target", "maximal_learning_rate")]
            rate = max(float(value) for value in peaks if isinstance(value, (int, float)))
        rate = float(np.asarray(rate))
    except (AttributeError, KeyError, TypeError, ValueError):
        return 1e-3
    return min(rate, MAX_LEARNING_RATE) if np.isfinite(rate) and rate > 0 else 1e-3
