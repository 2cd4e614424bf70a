"""Hyperparameter draws for tests: the whole space registered, and random values the way keras-tuner draws them."""

from __future__ import annotations

import keras_tuner as kt


def register(space: kt.HyperModel) -> kt.HyperParameters:
    """Builds the default model once so that the whole space is registered."""
    hp = kt.HyperParameters()
    space.build(hp)
    return hp


def random_hps(space: kt.HyperModel, seed: int) -> kt.HyperParameters:
    """One random draw, the way keras-tuner's RandomSearchOracle makes it.

    Walks the registered space in order and samples only hps whose conditions
    hold for the values drawn so far (inactive ones get no value).
    """
    registered = register(space)
    hps = kt.HyperParameters()
    for i, hp in enumerate(registered.space):
        hps.merge([hp])
        if hps.is_active(hp):
            hps.values[hp.name] = hp.random_sample(seed * 1009 + i)
    return hps
