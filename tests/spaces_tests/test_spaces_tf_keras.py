"""`build_with(hp, tf_keras)` builds the same architecture as Keras 3, weight for weight."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest

from tfnas.spaces import CNN1DSpace
from tfnas.spaces import CNN2DSpace
from tfnas.spaces import DSCNN1DSpace
from tfnas.spaces import DSCNN2DSpace
from tfnas.spaces import ImageSpace
from tfnas.spaces import MLPSpace
from tfnas.spaces import MobileNetSpace
from tfnas.spaces import SignalSpace
from tfnas.testing.tflite_ops import calibrate_batchnorm

tf_keras = pytest.importorskip("tf_keras")

CASES = [
    (MobileNetSpace(), (8, 8, 1), 0),
    (MobileNetSpace(), (8, 8, 1), 3),
    # Skips on, stride 1: residual Adds in every stage.
    (MobileNetSpace(skip=(True,), strides=(1,), filters=(8,), stem_filters=(8,), num_stages=(2,)), (6, 6, 2), 1),
    (DSCNN1DSpace(), (49, 10), 0),
    (DSCNN1DSpace(skip=(True,), strides=(1,), filters=(16,), stem_filters=(16,), num_blocks=(3,)), (20, 2), 1),
    (MLPSpace(), (20,), 0),
    (MLPSpace(), (20,), 1),
    (CNN2DSpace(), (8, 8, 1), 0),
    (CNN1DSpace(), (40, 1), 2),
    (DSCNN2DSpace(), (49, 10, 1), 0),
    (ImageSpace(), (8, 8, 1), 0),
    (ImageSpace(), (8, 8, 1), 1),
    (SignalSpace(), (40, 1), 0),
    # Phone scale: squeeze-and-excite, hard-swish, a width multiplier, a last conv and a hidden Dense.
    (MobileNetSpace(squeeze_excite=(True,), activations=("hard_swish",), width_multiplier=(0.5,), last_filters=(64,),
                    head_units=(32,), stem_strides=(2,), expansions=(4,), filters=(16, 32)), (32, 32, 3), 2),
]


@pytest.mark.parametrize("space,shape,seed", CASES, ids=lambda v: getattr(v, "name", str(v)))
def test_tf_keras_rebuild_matches_layer_by_layer(space, shape, seed, random_hps_fn):
    space = space.configure(shape, 5, "classification")
    hp = random_hps_fn(space, seed)
    k3 = space.build(hp)
    k2 = space.build_with(hp, tf_keras)
    assert isinstance(k2, tf_keras.Model) and not isinstance(k2, keras.Model)
    assert len(k3.layers) == len(k2.layers)
    for a, b in zip(k3.layers, k2.layers, strict=True):
        assert a.name == b.name
        assert type(a).__name__ == type(b).__name__
        assert [w.shape for w in a.get_weights()] == [w.shape for w in b.get_weights()], a.name
    x = np.random.default_rng(seed).random((6, *shape), dtype=np.float32)
    calibrate_batchnorm(k3, x)  # non-trivial BN statistics, so they must be copied right too
    k2.set_weights(k3.get_weights())
    expected = k3.predict(x, verbose=0)
    assert expected.std(axis=0).max() > 1e-3  # the outputs depend on the input
    np.testing.assert_allclose(k2.predict(x, verbose=0), expected, atol=1e-5)
    assert k2.loss == k3.loss
    assert float(k2.optimizer.learning_rate.numpy()) == pytest.approx(hp.get("learning_rate"))


def test_tf_keras_regression_head():
    space = MLPSpace().configure((7,), 3, "regression")
    model = space.build_with(kt.HyperParameters(), tf_keras)
    assert model.loss == "mse"
    assert model.layers[-1].get_config()["activation"] == "linear"
    assert model.output_shape == (None, 3)
