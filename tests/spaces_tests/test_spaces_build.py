"""Every space builds compiled Keras 3 models for random hp draws, within the MCU rules."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest

from tfnas.spaces import DSCNN1DSpace
from tfnas.spaces import MLPSpace
from tfnas.spaces import MobileNetSpace

CASES = [
    (MobileNetSpace, (8, 8, 1), 10),
    (MobileNetSpace, (12, 10, 3), 4),
    (DSCNN1DSpace, (49, 10), 12),
    (DSCNN1DSpace, (64, 3), 5),
    (MLPSpace, (20,), 3),
]


def _case_id(value: object) -> str:
    return value.__name__ if isinstance(value, type) else str(value)


CONVS = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)


@pytest.mark.parametrize("cls,shape,outputs", CASES, ids=_case_id)
def test_random_draws_build_compiled_models(cls, shape, outputs, random_hps_fn):
    space = cls().configure(shape, outputs, "classification")
    for seed in range(4):
        hp = random_hps_fn(space, seed)
        model = space.build(hp)
        assert isinstance(model, keras.Model)
        assert tuple(model.input_shape) == (None, *shape)
        assert tuple(model.output_shape) == (None, outputs)
        assert model.get_layer("head").get_config()["activation"] == "softmax"
        assert model.loss == "sparse_categorical_crossentropy"
        assert float(model.optimizer.learning_rate) == pytest.approx(hp.get("learning_rate"))
        assert model.get_layer("dropout").rate == pytest.approx(hp.get("dropout"))
        assert set(hp.values) <= {p.name for p in hp.space}


@pytest.mark.parametrize("cls,shape,outputs", CASES[::2], ids=_case_id)
def test_no_bare_relu_after_a_conv(cls, shape, outputs, random_hps_fn, inbound_layers_fn):
    space = cls().configure(shape, outputs, "classification")
    for seed in range(3):
        model = space.build(random_hps_fn(space, seed))
        inbound = inbound_layers_fn(model)
        consumers: dict[str, list[str]] = {}
        for name, sources in inbound.items():
            for source in sources:
                consumers.setdefault(source, []).append(name)
        for layer in model.layers:
            if isinstance(layer, (keras.layers.ReLU, keras.layers.Activation)):
                (source,) = inbound[layer.name]
                assert isinstance(model.get_layer(source), keras.layers.BatchNormalization), layer.name
            if isinstance(layer, CONVS):
                assert layer.get_config()["activation"] == "linear"
                assert not layer.use_bias
                (consumer,) = consumers[layer.name]
                assert isinstance(model.get_layer(consumer), keras.layers.BatchNormalization), layer.name
            if isinstance(layer, keras.layers.Dense) and layer.name != "head":
                assert layer.get_config()["activation"] == "relu"


def test_conditional_stage_hps_are_inactive(register_fn):
    space = MobileNetSpace().configure((8, 8, 1), 10, "classification")
    hp = register_fn(space)
    names = {p.name for p in hp.space}
    assert {"stage1_filters", "stage2_filters", "stage3_filters", "stage3_skip"} <= names
    hp.values["num_stages"] = 1
    assert hp.is_active("stage1_filters")
    assert not hp.is_active("stage2_filters")
    assert not hp.is_active("stage3_expansion")
    hp.values["num_stages"] = 2
    assert hp.is_active("stage2_filters") and not hp.is_active("stage3_filters")


def test_inactive_stages_build_no_layers():
    space = MobileNetSpace(num_stages=(1, 3)).configure((8, 8, 1), 10, "classification")
    hp = kt.HyperParameters()
    hp.Fixed("num_stages", 1)
    names = [layer.name for layer in space.build(hp).layers]
    assert any(name.startswith("s1b1_") for name in names)
    assert not any(name.startswith(("s2", "s3")) for name in names)


@pytest.mark.parametrize("cls", [MobileNetSpace, DSCNN1DSpace, MLPSpace])
def test_summary_keys_are_hp_names(cls, register_fn):
    shape = {3: (8, 8, 1), 2: (16, 2), 1: (5,)}[cls.input_rank]
    hp = register_fn(cls().configure(shape, 3, "classification"))
    assert set(cls.summary_keys) <= {p.name for p in hp.space}
    assert {"dropout", "learning_rate"} <= set(cls.summary_keys)


def test_tiny_images_never_shrink_below_one_pixel():
    space = MobileNetSpace(stem_strides=(2,), num_stages=(3,), blocks=(3,), strides=(2,), kernel_sizes=(5,))
    for shape in [(1, 1, 3), (2, 3, 1), (8, 8, 1)]:
        model = space.configure(shape, 3, "classification").build(kt.HyperParameters())
        for layer in model.layers:
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
                h_in, w_in = layer.input.shape[1:3]
                assert layer.output.shape[1] >= 1 and layer.output.shape[2] >= 1
                if isinstance(layer, keras.layers.DepthwiseConv2D):
                    assert layer.strides[0] == layer.strides[1], "TensorFlow's depthwise kernel needs equal strides"
                    assert layer.output.shape[1] == (1 if h_in == 1 else -(-h_in // layer.strides[0]))
                else:
                    assert layer.strides[0] == 1 or h_in > 1
                    assert layer.strides[1] == 1 or w_in > 1
        assert model.predict(np.zeros((1, *shape), "float32"), verbose=0).shape == (1, 3)


def test_tiny_signals_never_shrink_below_one_step():
    space = DSCNN1DSpace(stem_strides=(4,), pooling=("max",), num_blocks=(4,), strides=(2,))
    for shape in [(1, 2), (3, 1)]:
        model = space.configure(shape, 2, "classification").build(kt.HyperParameters())
        assert all(layer.output.shape[1] >= 1 for layer in model.layers if len(layer.output.shape) == 3)
        assert model.predict(np.zeros((1, *shape), "float32"), verbose=0).shape == (1, 2)


@pytest.mark.parametrize("cls,shape", [(MobileNetSpace, (8, 8, 1)), (DSCNN1DSpace, (32, 2)), (MLPSpace, (6,))])
def test_regression_head(cls, shape):
    model = cls().configure(shape, 2, "regression").build(kt.HyperParameters())
    assert model.get_layer("head").get_config()["activation"] == "linear"
    assert model.loss == "mse"
    x = np.random.default_rng(0).random((16, *shape), dtype=np.float32)
    history = model.fit(x, x.reshape(16, -1)[:, :2], epochs=1, verbose=0)
    assert {"loss", "mae"} <= set(history.history)
    assert model.predict(x, verbose=0).shape == (16, 2)


@pytest.mark.parametrize(
    "cls,shape,low,high",
    [
        (MobileNetSpace, (8, 8, 1), 1_000, 500_000),
        (DSCNN1DSpace, (49, 10), 1_000, 200_000),
        (MLPSpace, (20,), 100, 50_000),
    ],
)
def test_default_ranges_give_mcu_sized_models(cls, shape, low, high, random_hps_fn, count_macs_fn):
    space = cls().configure(shape, 10, "classification")
    macs = [count_macs_fn(space.build(random_hps_fn(space, seed))) for seed in range(12)]
    assert low <= np.median(macs) <= high
    assert count_macs_fn(space.build(kt.HyperParameters())) <= np.median(macs)


def test_keras_tuner_random_search_drives_the_space(tmp_path):
    space = MobileNetSpace().configure((8, 8, 1), 3, "classification")
    rng = np.random.default_rng(0)
    x, y = rng.random((48, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, 48)
    tuner = kt.RandomSearch(
        space, objective="val_accuracy", max_trials=2, seed=1, directory=tmp_path, project_name="p"
    )
    tuner.search(x, y, epochs=1, batch_size=16, validation_split=0.25, verbose=0)
    trials = tuner.oracle.trials.values()
    assert len(trials) == 2
    assert all(trial.status == "COMPLETED" for trial in trials)
