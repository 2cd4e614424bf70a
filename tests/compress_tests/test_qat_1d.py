"""QAT on 1-D models: every 1-D conv quantized (built as its 2-D twin), the graph the cost model predicts."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest

import tfnas
from tfnas.compress import to_keras3
from tfnas.compress import to_tf_keras
from tfnas.compress.bridge import own_weights
from tfnas.cost import profile
from tfnas.cost._graph import flatten_model
from tfnas.cost._lower import lower
from tfnas.errors import TfnasInputError
from tfnas.export.flatbuffer import interpreter
from tfnas.spaces import DSCNN1DSpace
from tfnas.testing.tflite_ops import TFLM_INT8_OPS
from tfnas.testing.tflite_ops import calibrate_batchnorm
from tfnas.testing.tflite_ops import op_names
from tfnas.verify.micro import run_micro

L = keras.layers
ONE_D_CONVS = (L.Conv1D, L.DepthwiseConv1D, L.SeparableConv1D)


def conv_pool_model() -> keras.Model:
    """Conv1D + BN + ReLU + MaxPooling1D, a strided Conv1D, Flatten and Dense."""
    inputs = keras.Input((40, 1))
    x = L.Conv1D(8, 5, padding="same", use_bias=False, name="c1")(inputs)
    x = L.ReLU(name="c1_relu")(L.BatchNormalization(name="c1_bn")(x))
    x = L.MaxPooling1D(2, name="pool")(x)
    x = L.Conv1D(12, 3, strides=2, activation="relu", name="c2")(x)
    return keras.Model(inputs, L.Dense(10, name="out")(L.Flatten(name="flat")(x)), name="conv_pool")


def dscnn_model() -> keras.Model:
    """A DS-CNN-1D block: DepthwiseConv1D and a pointwise Conv1D, each + BN + ReLU, a residual Add, GAP."""
    inputs = keras.Input((40, 1))
    x = L.Conv1D(8, 5, strides=2, padding="same", use_bias=False, name="stem")(inputs)
    x = shortcut = L.ReLU(name="stem_relu")(L.BatchNormalization(name="stem_bn")(x))
    x = L.DepthwiseConv1D(3, padding="same", use_bias=False, name="dw")(x)
    x = L.ReLU(name="dw_relu")(L.BatchNormalization(name="dw_bn")(x))
    x = L.Conv1D(8, 1, use_bias=False, name="pw")(x)
    x = L.ReLU(name="pw_relu")(L.BatchNormalization(name="pw_bn")(x))
    x = L.GlobalAveragePooling1D(name="gap")(L.Add(name="add")([shortcut, x]))
    return keras.Model(inputs, L.Dense(10, name="out")(x), name="dscnn")


@pytest.fixture(scope="module")
def signals() -> tuple:
    """Two classes of noisy 40-step signals (a sine and a square wave): something a model can learn in one epoch."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 320)
    t = np.linspace(0, 4 * np.pi, 40)
    waves = np.stack([np.sin(t), np.sign(np.sin(t))])[y]
    x = (waves + 0.3 * rng.standard_normal(waves.shape)).astype(np.float32)[..., None]
    return x, y


def _trained(make, x, y) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = make()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    return model


@pytest.mark.parametrize("make", [conv_pool_model, dscnn_model])
def test_qat_quantizes_every_1d_conv_and_exports_the_predicted_graph(make, signals, tmp_path):
    x, y = signals
    model = _trained(make, x, y)
    result = tfnas.compress(model, x, y, qat=True, epochs=1)
    assert result.skipped_layers["qat"] == {}, "no layer stays float"
    wrapped = {layer.layer.name: type(layer.layer).__name__ for layer in result.model.layers if hasattr(layer, "layer")}
    for layer in model.layers:
        if isinstance(layer, ONE_D_CONVS):
            assert wrapped.get(layer.name, "").endswith("2D"), f"{layer.name} is not quantized as a 2-D conv"

    report = tfnas.export(result, str(tmp_path / "qat.tflite"))
    blob = open(report.path, "rb").read()
    ops = op_names(blob)
    assert set(ops) <= TFLM_INT8_OPS
    assert ops == [op.kind for op in lower(flatten_model(model)).ops], "the graph the cost model predicts"
    measured = run_micro(blob, np.zeros((1, 40, 1), np.int8)).head
    assert abs(measured - profile(model).peak_ram_bytes) <= 0.15 * profile(model).peak_ram_bytes

    # the user's model keeps its 1-D layers and carries the trained weights
    keras_model = result.keras_model
    assert [type(layer) for layer in keras_model.layers] == [type(layer) for layer in model.layers]
    for layer in keras_model.layers:
        if isinstance(layer, ONE_D_CONVS + (L.Dense,)):
            kernel = layer.weights[0]
            trained = np.asarray(own_weights(result.model.get_layer(f"quant_{layer.name}"))[0])
            np.testing.assert_array_equal(np.asarray(kernel), trained.reshape(kernel.shape))
            assert not np.array_equal(np.asarray(kernel), np.asarray(model.get_layer(layer.name).weights[0]))


def test_prune_preserving_qat_keeps_the_zeros_of_1d_convs(digits):
    (x, y), (x_test, y_test) = digits
    x, x_test = x.reshape(len(x), 64, 1), x_test.reshape(len(x_test), 64, 1)
    keras.utils.set_random_seed(0)
    model = DSCNN1DSpace().configure((64, 1), 10, "classification").build(kt.HyperParameters())
    model.fit(x, y, epochs=2, verbose=0)
    result = tfnas.compress(model, x, y, validation_data=(x_test, y_test), prune=0.5, qat=True, epochs=1)
    assert result.skipped_layers["qat"] == {} and not result.notes
    assert result.sparsity["b1_pw"] == pytest.approx(0.5, abs=0.01)
    kernel = np.asarray(result.keras_model.get_layer("b1_pw").kernel)
    assert kernel.ndim == 3 and np.mean(kernel == 0) == pytest.approx(0.5, abs=0.01)


def test_cluster_preserving_qat_keeps_the_shared_values_of_1d_convs(signals, tmp_path):
    x, y = signals
    model = _trained(dscnn_model, x, y)
    result = tfnas.compress(model, x, y, cluster=4, qat=True, epochs=1, keep=["stem", "out"])
    assert result.skipped_layers["qat"] == {} and result.skipped_layers["cluster"]["dw"].startswith("TF-MOT does not cluster")
    report = tfnas.export(result, str(tmp_path / "cqat.tflite"))
    flat = interpreter(open(report.path, "rb").read())
    (kernel,) = [d for d in flat.get_tensor_details() if "quant_pw/LastValueQuant" in d["name"]]
    int8 = flat.get_tensor(kernel["index"])  # (cout, 1, 1, cin): BN folds in per output channel, the clusters stay
    assert int8.shape == (8, 1, 1, 8) and max(len(np.unique(row)) for row in int8) <= 4


def _variants() -> keras.Model:
    """Causal, dilated and separable 1-D convs, average pooling, a time-axis Concatenate and a Dense on 3-D tensors."""
    inputs = keras.Input((24, 3))
    a = L.Conv1D(4, 3, padding="causal", dilation_rate=2, name="causal")(inputs)
    b = L.SeparableConv1D(4, 3, padding="same", depth_multiplier=2, name="sep")(inputs)
    x = L.BatchNormalization(name="bn")(L.Concatenate(axis=-1, name="cat")([a, b]))
    x = L.AveragePooling1D(3, strides=2, padding="same", name="avg")(x)
    t = L.Concatenate(axis=1, name="cat_time")([x, x])
    x = L.Dense(5, name="per_step")(t)
    x = L.Conv1D(2, 3, padding="same", name="after_dense")(x)
    return keras.Model(inputs, L.GlobalMaxPooling1D(name="gmp")(x))


def test_2d_twin_of_1d_layers_gives_the_same_outputs_and_weights_back():
    import tf_keras

    model = _variants()
    data = np.random.default_rng(1).standard_normal((16, 24, 3)).astype(np.float32)
    calibrate_batchnorm(model, data)
    twin = to_tf_keras(model, data, as_2d=True)  # checks the outputs itself
    kinds = {layer.name: type(layer).__name__ for layer in twin.layers}
    assert kinds["causal"] == "Conv2D" and kinds["sep"] == "SeparableConv2D" and kinds["avg"] == "AveragePooling2D"
    assert kinds["causal_causal_pad"] == "ZeroPadding2D" and kinds["per_step"] == "Dense"
    assert isinstance(twin, tf_keras.Model) and twin.get_layer("causal").kernel.shape == (1, 3, 3, 4)
    back = to_keras3(twin, model)
    assert [type(layer) for layer in back.layers] == [type(layer) for layer in model.layers]
    np.testing.assert_allclose(np.asarray(back(data)), np.asarray(model(data)), atol=1e-6)


def test_a_1d_layer_without_a_2d_twin_fails_before_training(signals):
    x, y = signals
    x = x.transpose(0, 2, 1)  # (channels, steps)
    inputs = keras.Input((1, 40))
    conv = L.Conv1D(4, 3, data_format="channels_first", name="cf")(inputs)
    model = keras.Model(inputs, L.Dense(2)(L.Flatten()(conv)))
    with pytest.raises(TfnasInputError, match="'cf' \\(Conv1D\\) has data_format='channels_first'"):
        tfnas.compress(model, x, y, qat=True, epochs=1)
