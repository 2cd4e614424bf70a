"""Fixtures shared by the compression, export and verification tests: digits and trained models."""

from __future__ import annotations

import keras
import keras_tuner as kt
import pytest

from tfnas.demo import load_digits_images
from tfnas.spaces import MobileNetSpace

# An inverted-residual model of about 4.8k weights: two prunable 1x1 convs between the stem and the head.
DIGITS_HPS = {"stem_filters": 16, "stage1_filters": 32, "stage1_expansion": 4, "learning_rate": 3e-3}


@pytest.fixture(scope="session")
def digits() -> tuple:
    """`(x_train, y_train), (x_test, y_test)` of scikit-learn's digits as (8, 8, 1) images."""
    return load_digits_images()


@pytest.fixture(scope="session")
def digits_space_hp() -> tuple:
    """The MobileNet space configured for digits and the hyperparameters of `digits_model`."""
    space = MobileNetSpace().configure((8, 8, 1), 10, "classification")
    hp = kt.HyperParameters()
    space.build(hp)
    hp.values.update(DIGITS_HPS)
    return space, hp


@pytest.fixture(scope="session")
def digits_model(digits, digits_space_hp) -> keras.Model:
    """A trained Keras 3 digits model (about 98% test accuracy). Tests must not change it."""
    (x, y), _ = digits
    space, hp = digits_space_hp
    keras.utils.set_random_seed(0)
    model = space.build(hp)
    model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    return model
