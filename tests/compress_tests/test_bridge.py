"""The Keras 3 -> tf_keras bridge: same outputs, same layer names, clear errors for what it cannot carry."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tfnas.compress import to_keras3
from tfnas.compress import to_tf_keras
from tfnas.compress.bridge import check_same_outputs
from tfnas.errors import BridgeMismatchError
from tfnas.errors import TfnasInputError
from tfnas.spaces import DSCNN1DSpace
from tfnas.spaces import MLPSpace
from tfnas.spaces import MobileNetSpace
from tfnas.testing.hps import random_hps
from tfnas.testing.tflite_ops import calibrate_batchnorm

CASES = [(MobileNetSpace, (8, 8, 1)), (MobileNetSpace, (16, 16, 3)), (DSCNN1DSpace, (40, 1)), (MLPSpace, (20,))]


@pytest.mark.parametrize("space_cls, shape", CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_bridge_gives_the_same_outputs(space_cls, shape, seed):
    import tf_keras

    space = space_cls().configure(shape, 5, "classification")
    hp = random_hps(space, seed)
    model = space.build(hp)
    x = np.random.default_rng(seed).standard_normal((32, *shape)).astype(np.float32)
    calibrate_batchnorm(model, x)  # non-trivial BN statistics, so a dropped BN config would show
    for twin in (to_tf_keras(model, x), to_tf_keras(model, x, space=space, hp=hp)):
        assert isinstance(twin, tf_keras.Model)
        assert [layer.name for layer in twin.layers] == [layer.name for layer in model.layers]
        assert np.max(np.abs(np.asarray(twin(x)) - np.asarray(model(x)))) < 1e-5
    back = to_keras3(twin, model)
    assert isinstance(back, keras.Model)
    np.testing.assert_allclose(np.asarray(back(x)), np.asarray(model(x)), atol=1e-6)


def test_bridge_carries_sequential_models_and_regularizers():
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="tanh", kernel_regularizer=keras.regularizers.L2(0.01)),
         keras.layers.Dense(3)]
    )
    twin = to_tf_keras(model)
    assert twin.layers[1].kernel_regularizer.get_config()["l2"] == pytest.approx(0.01)
    assert check_same_outputs(model, twin) < 1e-6


class Scale(keras.layers.Layer):
    def call(self, x):
        return 2.0 * x


def test_layer_without_tf_keras_twin_is_named():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(Scale(name="my_scale")(inputs)))
    with pytest.raises(TfnasInputError, match="'my_scale' \\(Scale\\) has no tf_keras twin"):
        to_tf_keras(model)


def test_nested_models_are_refused_with_the_fix():
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)], name="inner")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inner(inputs)))
    with pytest.raises(TfnasInputError, match="nested model"):
        to_tf_keras(model)


def test_non_keras3_input_is_refused():
    import tf_keras

    model = tf_keras.Sequential([tf_keras.layers.Dense(2, input_shape=(3,))])
    with pytest.raises(TfnasInputError, match="You passed an object of type"):
        to_tf_keras(model)


def test_a_mismatch_stops_the_bridge():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(BridgeMismatchError, match="differs from the Keras 3 model"):
        check_same_outputs(model, other)


def test_tfmot_import_keeps_legacy_keras_out_of_child_processes(monkeypatch):
    from tfnas import _compat

    monkeypatch.delenv("TF_USE_LEGACY_KERAS", raising=False)
    _compat.tfmot()
    import os

    assert "TF_USE_LEGACY_KERAS" not in os.environ, "a child process would get tf_keras as tf.keras"
