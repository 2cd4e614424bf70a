"""Shared fixtures of the search-space tests: random hp draws, MAC counts, graph walks."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tfnas.testing.hps import random_hps  # noqa: E402
from tfnas.testing.hps import register  # noqa: E402


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
