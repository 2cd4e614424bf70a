"""Shared fixtures of the search-space tests: random hp draws, MAC counts, graph walks."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_tuner as kt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def register(space) -> kt.HyperParameters:
    """Builds the default model once so that the whole space is registered."""
    hp = kt.HyperParameters()
    space.build(hp)
    return hp


def random_hps(space, seed: int) -> kt.HyperParameters:
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


def count_macs(model) -> int:
    """Multiply-accumulates of the conv / depthwise / dense layers of a Keras 3 model."""
    total = 0
    for layer in model.layers:
        for weight in layer.weights:
            if weight.path.endswith("kernel"):
                total += int(np.prod(weight.shape)) * int(np.prod(layer.output.shape[1:-1]))
    return total


def _histories(node):
    if isinstance(node, dict):
        if "keras_history" in node:
            yield node["keras_history"][0]
        for value in node.values():
            yield from _histories(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _histories(value)


def inbound_layers(model: keras.Model) -> dict[str, list[str]]:
    """Layer name -> names of the layers feeding it, from the public model config."""
    return {cfg["name"]: list(_histories(cfg["inbound_nodes"])) for cfg in model.get_config()["layers"]}


@pytest.fixture
def random_hps_fn():
    return random_hps


@pytest.fixture
def register_fn():
    return register


@pytest.fixture
def count_macs_fn():
    return count_macs


@pytest.fixture
def inbound_layers_fn():
    return inbound_layers
