"""The whole models calibration times (random, reproducible draws of tfnas's spaces) and the kernel shapes taken from them."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from tfnas.cost._graph import flatten_model
from tfnas.cost._kernel_features import graph_kernels
from tfnas.cost._lower import lower
from tfnas.latency.candidates import kernel_params
from tfnas.latency.candidates import random_values
from tfnas.latency.candidates import space_candidate
from tfnas.latency.candidates import space_specs
from tfnas.latency.kernels import build_model
from tfnas.latency.kernels import features_of
from tfnas.spaces import ImageSpace


def test_draws_are_random_and_reproducible():
    first = [space_candidate(np.random.default_rng(seed)) for seed in range(3)]
    again = [space_candidate(np.random.default_rng(seed)) for seed in range(3)]
    sizes = [(m.inputs[0].shape[1:], m.count_params()) for m in first]
    assert sizes == [(m.inputs[0].shape[1:], m.count_params()) for m in again]
    assert len(set(sizes)) == 3


def test_conditional_hyperparameters_get_values():
    space = ImageSpace().configure((32, 32, 3), 10, "classification")
    hp = random_values(space, np.random.default_rng(0))
    # every hp the drawn values switch on got a value of its own: building again registers nothing new
    before = {p.name for p in hp.space}
    space.build(hp)
    assert {p.name for p in hp.space} == before
    assert all(hp.values.get(name) is not None for name in before if hp.is_active(name))


def _mixed_model() -> keras.Model:
    """Every layer kind `kernel_params` reads: a 2D stem, separable and dilated convs, pooling, a flatten-dense head."""
    x = inputs = keras.Input((20, 20, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.SeparableConv2D(12, 3, strides=2, padding="same")(x)
    x = keras.layers.Conv2D(12, 3, dilation_rate=2, padding="same")(x)  # no micro-model of a dilated conv
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(10)(x))


def _signal_model() -> keras.Model:
    x = inputs = keras.Input((64, 2))
    x = keras.layers.Conv1D(8, 5, strides=2, padding="same")(x)
    x = keras.layers.DepthwiseConv1D(3, padding="same")(x)
    x = keras.layers.Conv1D(16, 1)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(4)(x))


@pytest.mark.parametrize(
    ("build", "skipped"),
    [(_mixed_model, 1), (_signal_model, 0), (lambda: space_candidate(np.random.default_rng(3)), None)],
)
def test_kernel_params_rebuild_the_ops_of_a_model(build, skipped):
    model = build()
    graph = flatten_model(model)
    ops = graph_kernels(graph, lower(graph))
    params = kernel_params(model)
    assert params
    keys = ("macs", "in_bytes", "out_bytes", "cin", "cout", "kernel", "stride")
    in_model = {(kind, tuple(f[k] for k in keys)) for kind, f in ops}
    for p in params:  # each micro-model is one op of the model, same kernel, shape and stride
        alone = features_of(build_model(p), p["kind"])
        assert (p["kind"], tuple(alone[k] for k in keys)) in in_model, p
    measurable = [k for k, _ in ops if k in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D")]
    if skipped is not None:  # every op with a micro-model of its shape is taken (the dilated conv is not)
        assert len(params) == len(measurable) - skipped


def test_space_specs_are_new_shapes_of_the_kinds_asked(tmp_path):
    seen: set[str] = set()
    first = space_specs(["CONV_2D", "FULLY_CONNECTED"], np.random.default_rng(0), 20, 0, seen)
    again = space_specs(["CONV_2D", "FULLY_CONNECTED"], np.random.default_rng(0), 20, len(first), seen)
    assert len(first) >= 20 and {s.kind for s in first} <= {"CONV_2D", "FULLY_CONNECTED"}
    keys = [json.dumps(s.params, sort_keys=True) for s in first + again]
    assert len(set(keys)) == len(keys)  # the same draws again: only shapes not yet taken
    assert len({s.file for s in first + again}) == len(first) + len(again)
