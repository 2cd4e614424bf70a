"""Low-rank factorisation of large Dense layers."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import tfnas
from tfnas.compress.lowrank import factorize
from tfnas.compress.lowrank import plan_lowrank
from tfnas.verify.litert import interpreter


def _mlp() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((64,))
    x = keras.layers.Dense(128, activation="relu", name="big")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="big2")(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="head")(x))
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_full_rank_factorisation_is_exact():
    model = _mlp()
    factored = factorize(model, {"big": 64})
    x = np.random.default_rng(0).standard_normal((8, 64)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(factored(x)), np.asarray(model(x)), atol=1e-4)
    assert factored.get_layer("big_lowrank").kernel.shape == (64, 64)


def test_plan_and_parameter_count():
    model = _mlp()
    ranks, skipped = plan_lowrank(model, 8)
    assert ranks == {"big": 8, "big2": 8}
    assert "fewer than" in skipped["head"]
    factored = factorize(model, ranks)
    saved = (64 * 128 - 8 * (64 + 128)) + (128 * 64 - 8 * (128 + 64))
    assert model.count_params() - factored.count_params() == saved


def test_compress_with_lowrank_fine_tunes(digits):
    (x, y), (x_test, y_test) = digits
    x, x_test = x.reshape(len(x), 64), x_test.reshape(len(x_test), 64)
    model = _mlp()
    model.fit(x, y, epochs=10, verbose=0)
    result = tfnas.compress(model, x, y, validation_data=(x_test, y_test), lowrank=0.25, epochs=5)
    assert [s.stage for s in result.stages] == ["float", "lowrank"]
    assert result.stages[1].params < result.stages[0].params
    # seeds 0-4 of `_mlp` and compress, oneDNN on and off (alike on these Dense layers): -1.11 to +1.11 points
    # from float (mean +0.13, std 0.81: mean - 3 std = -2.3 points)
    assert result.stages[1].value > result.stages[0].value - 0.03
    assert "big_lowrank" in [layer.name for layer in result.keras_model.layers]
    assert result.stages[1].value == pytest.approx(
        float(np.mean(result.keras_model.predict(x_test, verbose=0).argmax(1) == y_test)), abs=1e-6
    )


def test_regression_models_compress_and_verify_on_mae(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 16)).astype(np.float32)
    y = (x[:, :4].sum(axis=1, keepdims=True) / 2).astype(np.float32)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16,))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dense(64, activation="relu")(inputs)))
    model.compile("adam", "mse")
    model.fit(x, y, epochs=20, verbose=0)
    result = tfnas.compress(model, x, y, prune=0.5, keep=[], epochs=5)
    assert result.task == "regression" and result.stages[-1].metric == "mae"
    # seeds 0-4 of the model and compress, oneDNN on and off: an MAE of 0.185-0.235 times the mean's
    # (mean 0.209, std 0.020: mean + 3 std = 0.27)
    assert result.stages[-1].value < 0.5 * float(np.mean(np.abs(y - y.mean())))
    path = tfnas.export(result, str(tmp_path / "reg.tflite")).path
    report = tfnas.verify(path, x[:50], y[:50], model=model, latency_runs=2)
    # The model is FULLY_CONNECTED ops only: LiteRT's reference kernel and TFLite Micro's round its requantisation
    # apart near .5 ties (once vs twice), so an output differs by one int8 step at most and the MAEs by at most
    # the largest difference. Seeds 0-4: 0-1 step apart (scales 0.018-0.023), MAEs 0-0.0005 apart.
    step = interpreter(path, kernels="reference").get_output_details()[0]["quantization"][0]
    assert report.metric == "mae" and report.ops[-1] == "FULLY_CONNECTED" and report.max_output_diff <= 1
    assert abs(report.micro_value - report.litert_value) <= report.max_output_diff * step + 1e-6
