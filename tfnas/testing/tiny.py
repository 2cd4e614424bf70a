"""A tiny dense classifier and its data: the smallest model a compression test can fine-tune in a second."""

from __future__ import annotations

import keras
import numpy as np


def tiny_model() -> keras.Model:
    """Dense(16, "stem") -> Dense(16, "hidden") -> Dense(2, "head") logits on 6 features, compiled, seeded."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    stem = keras.layers.Dense(16, activation="relu", name="stem")(inputs)
    hidden = keras.layers.Dense(16, activation="relu", name="hidden")(stem)
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(hidden))
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def tiny_data() -> tuple[np.ndarray, np.ndarray]:
    """96 seeded samples of 6 features, labelled by the sign of the first two's sum."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 6)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)
