"""`CompressOptions`: what every stage of one `tfnas.compress` run shares, declared once.

The stages say what to compress; these options say how each stage is
fine-tuned and measured: the held-out data, epochs, batch size, learning
rate, seed, the search's `Training` recipe, and how much it reports.
`tfnas.compress` reads its shared keyword arguments into one of these.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tfnas.errors import TfnasInputError
from tfnas.training import Training


@dataclasses.dataclass
class CompressOptions:
    """How every stage of one `tfnas.compress` run fine-tunes and is measured.

    Attributes:
        validation_data: `(x_val, y_val)` every stage is measured on. Defaults
            to a seeded 20% split of `x` held out from fine-tuning.
        epochs: Fine-tuning epochs per stage.
        batch_size: Fine-tuning batch size (the recipe's, when it sets one).
        learning_rate: Adam learning rate for fine-tuning. Defaults to the
            model's own, at most 1e-3.
        seed: Seeds the validation split and the fine-tuning.
        verbose: 1 prints a line per stage and the summary; 2 also Keras's progress.
        training: The search's `tfnas.Training` recipe (or a dict of its fields).
        space: The `EdgeSpace` that built the model (with `hp`): the bridge to
            tf_keras then uses the space's own builder.
        hp: The model's `kt.HyperParameters` in `space`.
        device: A device profile (or its path) a latency target is priced on; given to every
            `PruneChannels` stage that has none.
    """

    validation_data: Any = None
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float | None = None
    seed: int | None = 0
    verbose: int = 0
    training: Training | Mapping[str, Any] | None = None
    space: Any = None
    hp: Any = None
    device: Any = None

    def __post_init__(self) -> None:
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise TfnasInputError(f"epochs must be a positive integer. Received: epochs={self.epochs!r}")

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
                "training": recipe.to_dict()}
