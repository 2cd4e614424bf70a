"""FLOPs and MACs of `tfnas.cost.profile` against the TensorFlow profiler and hand counts."""

from __future__ import annotations

import warnings

import keras
import pytest

import tfnas.cost
from tfnas.errors import TfnasInputError
from tfnas.testing.cost_zoo import ZOO_NAMES

L = keras.layers


def _one_layer(layer: keras.layers.Layer, *shapes: tuple[int, ...]) -> keras.Model:
    inputs = [keras.Input(shape) for shape in shapes]
    return keras.Model(inputs, layer(inputs if len(inputs) > 1 else inputs[0]))


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_zoo_flops_match_the_profiler(zoo: dict, name: str) -> None:
    model = zoo[name]
    expected = tfnas.cost.profiler_flops(model)
    report = tfnas.cost.profile(model)
    assert abs(report.flops - expected) <= 0.01 * expected  # measured: exact (0.00%) on every zoo model
    assert all(layer.source == "rule" for layer in report.layers)  # no profiler fallback inside profile()


# One layer per rule and configuration; each must match the profiler exactly.
LAYER_CASES = {
    "conv2d_same_s2_nobias": (lambda: L.Conv2D(4, 3, strides=2, padding="same", use_bias=False), [(7, 7, 3)]),
    "conv2d_dilated_same": (lambda: L.Conv2D(4, 3, dilation_rate=(2, 3), padding="same"), [(9, 10, 3)]),
    "conv2d_sigmoid": (lambda: L.Conv2D(4, 1, activation="sigmoid"), [(5, 5, 3)]),
    "conv1d_causal": (lambda: L.Conv1D(4, 3, padding="causal"), [(8, 3)]),
    "conv1d_dilated": (lambda: L.Conv1D(4, 3, dilation_rate=2), [(9, 3)]),
    "depthwise2d_dm2": (lambda: L.DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same"), [(7, 7, 3)]),
    "depthwise1d_dilated": (lambda: L.DepthwiseConv1D(3, dilation_rate=2), [(9, 3)]),
    "separable2d_dilated": (lambda: L.SeparableConv2D(4, 3, dilation_rate=2), [(9, 9, 3)]),
    "separable1d_s2": (lambda: L.SeparableConv1D(4, 3, strides=2, padding="same", use_bias=False), [(9, 3)]),
    "conv2d_transpose_s2": (lambda: L.Conv2DTranspose(4, 3, strides=2, padding="same"), [(8, 8, 3)]),
    "conv1d_transpose": (lambda: L.Conv1DTranspose(4, 3, strides=2), [(8, 3)]),
    "dense_3d_swish": (lambda: L.Dense(5, activation="swish"), [(4, 10)]),
    "dense_gelu": (lambda: L.Dense(5, activation="gelu"), [(10,)]),
    "batchnorm_axis1": (lambda: L.BatchNormalization(axis=1), [(4, 4, 3)]),
    "batchnorm_no_scale": (lambda: L.BatchNormalization(scale=False), [(4, 4, 3)]),
    "layernorm": (lambda: L.LayerNormalization(), [(4, 10)]),
    "rescaling_offset": (lambda: L.Rescaling(1 / 127.5, offset=-1), [(4, 4, 3)]),
    "normalization": (lambda: L.Normalization(mean=0.5, variance=2.0), [(4, 4, 3)]),
    "relu_all_options": (lambda: L.ReLU(max_value=5.0, threshold=0.5, negative_slope=0.1), [(10,)]),
    "relu6_threshold": (lambda: L.ReLU(max_value=6.0, threshold=0.5), [(10,)]),
    "prelu_shared_axes": (lambda: L.PReLU(shared_axes=[1, 2]), [(4, 4, 3)]),
    "softmax_axis1": (lambda: L.Softmax(axis=1), [(4, 10)]),
    "hard_swish": (lambda: L.Activation("hard_swish"), [(10,)]),
    "maxpool2d_s1_same": (lambda: L.MaxPooling2D(3, strides=1, padding="same"), [(8, 8, 3)]),
    "avgpool1d_same": (lambda: L.AveragePooling1D(3, strides=2, padding="same"), [(7, 3)]),
    "gap2d_keepdims": (lambda: L.GlobalAveragePooling2D(keepdims=True), [(8, 8, 3)]),
    "gmp1d": (lambda: L.GlobalMaxPooling1D(), [(8, 3)]),
    "average3": (lambda: L.Average(), [(4, 4, 3)] * 3),
    "multiply_broadcast": (lambda: L.Multiply(), [(4, 4, 3), (1, 1, 3)]),
    "subtract": (lambda: L.Subtract(), [(4, 4, 3)] * 2),
    "maximum": (lambda: L.Maximum(), [(4, 4, 3)] * 2),
    "upsampling2d": (lambda: L.UpSampling2D(), [(4, 4, 3)]),
    "cropping2d": (lambda: L.Cropping2D(1), [(4, 4, 3)]),
}


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_layer_rule_matches_the_profiler(case: str) -> None:
    make, shapes = LAYER_CASES[case]
    model = _one_layer(make(), *shapes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a rule exists: no profiler fallback
        report = tfnas.cost.profile(model)
    assert report.flops == tfnas.cost.profiler_flops(model)


def test_macs_hand_computed() -> None:
    inputs = keras.Input((8, 8, 3))
    x = L.Conv2D(4, 3, padding="valid")(inputs)  # 6*6 positions * 4 filters * 3*3*3 = 3888
    x = L.DepthwiseConv2D(3, padding="same")(x)  # 6*6*4 channels * 3*3 = 1296
    x = L.SeparableConv2D(2, 1)(x)  # depthwise 6*6*4*1 = 144, pointwise 6*6*4*2 = 288
    x = L.BatchNormalization()(x)  # 0
    x = L.GlobalAveragePooling2D()(x)  # 0
    outputs = L.Dense(5)(x)  # 2 * 5 = 10
    report = tfnas.cost.profile(keras.Model(inputs, outputs))
    assert [layer.macs for layer in report.layers] == [3888, 1296, 432, 0, 0, 10]
    assert report.macs == 3888 + 1296 + 432 + 10
    seq = keras.Sequential([keras.Input((16, 2)), L.Conv1D(3, 5, strides=2, padding="same"), L.Flatten(), L.Dense(4)])
    assert tfnas.cost.profile(seq).macs == 8 * 3 * 5 * 2 + 24 * 4


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_params_equal_count_params(zoo: dict, name: str) -> None:
    report = tfnas.cost.profile(zoo[name])
    assert report.params == zoo[name].count_params()
    assert sum(layer.params for layer in report.layers) == report.params


def test_shared_layer_params_counted_once_and_batch_size_ignored() -> None:
    dense = L.Dense(4)
    inputs = keras.Input((4,), batch_size=8)
    model = keras.Model(inputs, dense(dense(inputs)))
    report = tfnas.cost.profile(model)
    assert report.params == model.count_params() == 20
    assert report.flops == tfnas.cost.profiler_flops(model) == 2 * (2 * 4 * 4 + 4)


class SquarePlusOne(L.Layer):
    """A layer without a cost rule: x * x + 1."""

    def call(self, x):
        return x * x + 1.0


def test_unknown_layer_warns_and_falls_back_to_the_profiler() -> None:
    inputs = keras.Input((8, 3))
    x = L.Conv1D(4, 3)(inputs)
    x = SquarePlusOne(name="square_plus_one")(x)
    model = keras.Model(inputs, L.Dense(2)(L.Flatten()(x)))
    with pytest.warns(UserWarning, match="SquarePlusOne"):
        report = tfnas.cost.profile(model)
    layer = next(layer for layer in report.layers if layer.class_name == "SquarePlusOne")
    alone = keras.Sequential([keras.Input((6, 4)), SquarePlusOne()])  # the layer's input shape
    assert layer.flops == tfnas.cost.profiler_flops(alone) == 2 * 6 * 4
    assert layer.source == "profiler" and layer.macs == 0
    assert report.flops == tfnas.cost.profiler_flops(model)


def test_nested_model_with_dynamic_inner_shapes_falls_back_whole() -> None:
    inner = keras.Sequential([keras.Input((None, 3)), L.Conv1D(4, 3)], name="dynamic_block")
    inputs = keras.Input((10, 3))
    model = keras.Model(inputs, inner(inputs))
    with pytest.warns(UserWarning, match="Sequential"):
        report = tfnas.cost.profile(model)
    assert report.flops == tfnas.cost.profiler_flops(model)
    assert report.macs == 8 * 4 * 3 * 3  # conv MACs recovered from the profiler's Conv2D count


def test_unbuilt_model_raises_a_clear_error() -> None:
    model = keras.Sequential([L.Dense(3)])
    with pytest.raises(ValueError, match="not built") as info:
        tfnas.cost.profile(model)
    assert isinstance(info.value, TfnasInputError)
    assert "Input" in str(info.value) and "build" in str(info.value)


def test_dynamic_input_shape_raises() -> None:
    inputs = keras.Input((None, 3))
    with pytest.raises(TfnasInputError, match="static"):
        tfnas.cost.profile(keras.Model(inputs, L.Conv1D(2, 3)(inputs)))


def test_model_built_with_build() -> None:
    model = keras.Sequential([L.Dense(3), L.Dense(2)])
    model.build((None, 5))
    assert tfnas.cost.profile(model).flops == tfnas.cost.profiler_flops(model) == 2 * 15 + 3 + 2 * 6 + 2


def test_raw_keras_ops_have_rules():
    """MobileNetV3's hard-swish and squeeze-excite use keras.ops add/multiply on symbolic tensors: priced by rule
    (one FLOP per output, as the layers), without the profiler's slow fallback and its warning."""
    from tfnas.cost.profiler import profiler_flops

    model = keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), weights=None, include_preprocessing=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fallback warns: an error here
        report = tfnas.cost.profile(model)
    assert report.flops == pytest.approx(profiler_flops(model), rel=0.01)
