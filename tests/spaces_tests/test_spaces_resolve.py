"""`get_space`, `configure` copies, and the argument errors of the spaces."""

from __future__ import annotations

import keras
import keras_tuner as kt
import pytest

from tfnas.errors import TfnasInputError
from tfnas.spaces import SPACES
from tfnas.spaces import CNN1DSpace
from tfnas.spaces import CNN2DSpace
from tfnas.spaces import DSCNN1DSpace
from tfnas.spaces import DSCNN2DSpace
from tfnas.spaces import EdgeSpace
from tfnas.spaces import FunctionSpace
from tfnas.spaces import ImageSpace
from tfnas.spaces import MLPSpace
from tfnas.spaces import MobileNetSpace
from tfnas.spaces import SignalSpace
from tfnas.spaces import SpectrogramSpace
from tfnas.spaces import get_space


def _tiny_model(hp: kt.HyperParameters) -> keras.Model:
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(hp.Int("units", 2, 4), activation="softmax")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(loss="sparse_categorical_crossentropy")
    return model


class _MyHyperModel(kt.HyperModel):
    def build(self, hp):
        return _tiny_model(hp)


def test_spaces_registry():
    assert SPACES == {
        "mlp": MLPSpace, "dscnn1d": DSCNN1DSpace, "mobilenet": MobileNetSpace, "cnn1d": CNN1DSpace, "cnn2d": CNN2DSpace,
        "dscnn2d": DSCNN2DSpace, "images": ImageSpace, "signals": SignalSpace, "spectrograms": SpectrogramSpace,
    }


@pytest.mark.parametrize(
    "shape,cls", [((20,), MLPSpace), ((49, 10), SignalSpace), ((8, 8, 1), ImageSpace), ((49, 10, 1), SpectrogramSpace)]
)
def test_auto_picks_by_shape(shape, cls):
    space = get_space("auto", shape, 10, "classification")
    assert type(space) is cls
    assert space.input_shape == shape and space.num_outputs == 10 and space.task == "classification"


@pytest.mark.parametrize("name,shape", [("mlp", (5,)), ("DSCNN1D", (16, 2)), (" mobilenet ", (8, 8, 3))])
def test_names_resolve_to_configured_spaces(name, shape):
    space = get_space(name, shape, 3, "regression")
    assert type(space) is SPACES[name.strip().lower()]
    assert space.configured and space.task == "regression" and space.loss == "mse"


def test_edge_space_instance_is_configured_copy_with_user_ranges():
    mine = MobileNetSpace(filters=(8, 16), num_stages=(1,), name="mine")
    space = get_space(mine, (8, 8, 1), 10, "classification")
    assert space is not mine and type(space) is MobileNetSpace
    assert space.ranges["filters"] == (8, 16) and space.ranges["num_stages"] == (1,)
    assert space.name == "mine"
    assert mine.input_shape is None and mine.num_outputs is None
    hp = kt.HyperParameters()
    model = space.build(hp)
    assert model.output_shape == (None, 10)
    assert hp.get("stage1_filters") == 8


def test_edge_space_class_is_instantiated():
    space = get_space(MLPSpace, (6,), 2, "classification")
    assert isinstance(space, MLPSpace) and space.configured


def test_other_hypermodels_are_returned_as_is():
    mine = _MyHyperModel()
    assert get_space(mine, (4,), 3, "classification") is mine


def test_build_functions_are_wrapped():
    space = get_space(_tiny_model, (4,), 3, "classification")
    assert isinstance(space, FunctionSpace) and isinstance(space, kt.HyperModel)
    hp = kt.HyperParameters()
    assert space.build(hp).output_shape[-1] == 2
    assert "units" in hp.values


@pytest.mark.parametrize("bad", ["resnet", "", 3, None, [1, 2], kt.HyperParameters])
def test_unusable_spaces_list_the_valid_names(bad):
    with pytest.raises(TfnasInputError, match="mobilenet") as info:
        get_space(bad, (8, 8, 1), 10, "classification")
    assert "dscnn1d" in str(info.value) and "mlp" in str(info.value)


def test_auto_with_unsupported_rank():
    with pytest.raises(TfnasInputError, match=r"rank 4"):
        get_space("auto", (2, 8, 8, 1), 10, "classification")


def test_named_space_with_wrong_rank():
    with pytest.raises(TfnasInputError, match=r"rank 3.*rank 1"):
        get_space("mobilenet", (20,), 10, "classification")


def test_configure_returns_a_copy():
    space = DSCNN1DSpace(num_blocks=(2,))
    configured = space.configure((32, 3), 4, "classification")
    assert configured is not space and space.input_shape is None and not space.configured
    assert configured.input_shape == (32, 3) and configured.num_outputs == 4
    assert configured.ranges == space.ranges
    again = configured.configure((16, 1), 2, "regression")
    assert configured.input_shape == (32, 3) and again.input_shape == (16, 1)
    assert again.build(kt.HyperParameters()).output_shape == (None, 2)


def test_build_before_configure_says_how_to_fix():
    with pytest.raises(TfnasInputError, match="configure") as info:
        MLPSpace().build(kt.HyperParameters())
    assert "input_shape" in str(info.value) and "num_outputs" in str(info.value)


def test_constructor_arguments_configure_too():
    space = MLPSpace(input_shape=(5,), num_outputs=3)
    assert space.build(kt.HyperParameters()).output_shape == (None, 3)


@pytest.mark.parametrize(
    "cls,kwargs,match",
    [
        (MobileNetSpace, {"filters": (0, 8)}, "filters"),
        (MobileNetSpace, {"filters": ()}, "empty"),
        (MobileNetSpace, {"kernel_sizes": (3.0,)}, "kernel_sizes"),
        (MobileNetSpace, {"skip": ("yes",)}, "True/False"),
        (MobileNetSpace, {"expansions": (True,)}, "expansions"),
        (MobileNetSpace, {"filter": (8,)}, "unknown range"),
        (DSCNN1DSpace, {"pooling": ("median",)}, "median"),
        (MLPSpace, {"dropout": (1.5,)}, "dropout"),
        (MLPSpace, {"learning_rate": (0.0,)}, "learning_rate"),
        (MLPSpace, {"task": "segmentation"}, "classification"),
        (MLPSpace, {"input_shape": (None, 5)}, "batch axis"),
        (MLPSpace, {"input_shape": (5,), "num_outputs": 1}, "number of classes"),
        (MLPSpace, {"input_shape": (5, 2), "num_outputs": 3}, "rank"),
    ],
)
def test_bad_arguments_name_the_value_and_the_fix(cls, kwargs, match):
    with pytest.raises(TfnasInputError, match=match):
        cls(**kwargs)


def test_input_errors_are_value_errors():
    with pytest.raises(ValueError):
        MLPSpace(units=(-1,))


def test_scalar_ranges_and_numpy_shapes_are_accepted():
    import numpy as np

    space = MobileNetSpace(stem_filters=8, skip=False, input_shape=np.array([8, 8, 1]), num_outputs=np.int64(3))
    assert space.ranges["stem_filters"] == (8,) and space.ranges["skip"] == (False,)
    assert space.input_shape == (8, 8, 1) and isinstance(space.num_outputs, int)
    hp = kt.HyperParameters()
    space.build(hp)
    assert hp.get("stage1_skip") is False


def test_regression_allows_one_output():
    space = MLPSpace().configure((5,), 1, "regression")
    assert space.metrics == ("mae",)
    assert isinstance(space, EdgeSpace)
