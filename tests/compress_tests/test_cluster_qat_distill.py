"""Clustering, QAT alone, distillation and the argument checks of `tfnas.compress`."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import tfnas
from tfnas.compress.distill import DistillationLoss
from tfnas.compress.distill import pack
from tfnas.errors import TfnasInputError


def test_clustering_shares_weights(digits, digits_model):
    (x, y), (x_test, y_test) = digits
    result = tfnas.compress(digits_model, x, y, validation_data=(x_test, y_test), cluster=8, epochs=2)
    for name in ("s1b1_expand", "s1b1_project"):
        assert len(np.unique(np.asarray(result.keras_model.get_layer(name).kernel))) <= 8, name
    assert result.skipped_layers["cluster"]["s1b1_dw"] == "TF-MOT does not cluster DepthwiseConv2D weights"
    assert len(np.unique(np.asarray(result.keras_model.get_layer("stem_conv").kernel))) > 8, "kept layers are left alone"
    cluster = result.stages[-1]
    assert cluster.stage == "cluster" and cluster.gzip_bytes < result.stages[0].gzip_bytes
    # seeds 0-4 of `digits_model` and compress, oneDNN on and off: -1.33 to +0.67 points from float
    # (mean -0.38, std 0.59: mean - 3 std = -2.2 points)
    assert cluster.value > result.stages[0].value - 0.05


def test_qat_model_converts_close_to_float(digits, digits_model, tmp_path):
    (x, y), (x_test, y_test) = digits
    result = tfnas.compress(digits_model, x, y, validation_data=(x_test, y_test), qat=True, epochs=2)
    assert result.quantization_aware and not result.skipped_layers["qat"]
    report = tfnas.export(result, str(tmp_path / "qat.tflite"))
    checked = tfnas.verify(report.path, x_test, y_test, model=digits_model, latency_runs=5)
    # seeds 0-4 of `digits_model` and compress, oneDNN on and off: int8 -0.67 to +0.44 points from float
    # (mean -0.24, std 0.37: mean - 3 std = -1.35 points)
    assert checked.litert_value > checked.float_value - 0.02


def test_distillation_loss_matches_its_formula():
    rng = np.random.default_rng(0)
    student = rng.dirichlet(np.ones(4), size=6).astype(np.float32)
    teacher = rng.dirichlet(np.ones(4), size=6).astype(np.float32)
    labels = rng.integers(0, 4, size=6)
    t, alpha = 3.0, 0.25
    loss = np.asarray(DistillationLoss(t, alpha)(pack(labels, teacher), student))
    soft = np.exp(np.log(student) / t)
    soft /= soft.sum(axis=1, keepdims=True)
    expected = alpha * -np.log(student[np.arange(6), labels]) + (1 - alpha) * t**2 * np.sum(
        teacher * (np.log(teacher) - np.log(soft)), axis=1
    )
    np.testing.assert_allclose(loss, expected, rtol=1e-4)


def test_distillation_from_a_teacher(digits, digits_model):
    (x, y), (x_test, y_test) = digits
    student = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    student.compile("adam", "sparse_categorical_crossentropy")
    result = tfnas.compress(
        student, x, y, validation_data=(x_test, y_test), distill_from=digits_model, epochs=10, learning_rate=1e-2
    )
    assert [s.stage for s in result.stages] == ["float", "distill"]
    # seeds 0-4 of teacher, student and compress, oneDNN on and off: distilled 90.22-92.22% (mean 91.18, std 0.68 points:
    # mean - 3 std = 89.1%); the untrained student 3.56-16.89%
    assert result.stages[1].value > 0.85 > result.stages[0].value


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "Nothing to do"),
        ({"prune": 0.5, "epochs": 0}, "epochs must be a positive integer"),
        ({"cluster": 1}, "number of clusters >= 2"),
        ({"structure": "3:4"}, "structure='3:4' is not supported"),
        ({"lowrank": 4, "prune": {"s1b1_project": 1.5}}, r"prune\['s1b1_project'\] must be a sparsity"),
        ({"lowrank": 1.5}, "lowrank must be a rank"),
        ({"distill_from": keras.Sequential([keras.Input((4,)), keras.layers.Dense(10)])}, "teacher takes inputs of shape"),
    ],
)
def test_bad_arguments_fail_before_training(digits, digits_model, kwargs, message):
    (x, y), _ = digits
    with pytest.raises(TfnasInputError, match=message):
        tfnas.compress(digits_model, x, y, **kwargs)


def test_bad_data_fails_before_training(digits, digits_model):
    (x, y), _ = digits
    with pytest.raises(TfnasInputError, match="takes inputs of shape"):
        tfnas.compress(digits_model, x.reshape(len(x), 64), y, prune=0.5)
    with pytest.raises(TfnasInputError, match="labels go up to 29 but the model has 10 outputs"):
        tfnas.compress(digits_model, x, y + 20, prune=0.5, validation_data=(x, y))
    with pytest.raises(TfnasInputError, match="You passed an object of type"):
        tfnas.compress("model.keras", x, y, prune=0.5)
