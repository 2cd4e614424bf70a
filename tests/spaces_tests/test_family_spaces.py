"""`space="auto"` searches model families side by side, with conditional hps per family."""

from __future__ import annotations

import keras
import keras_tuner as kt
import pytest

from tfnas.errors import TfnasInputError
from tfnas.spaces import CNN1DSpace
from tfnas.spaces import CNN2DSpace
from tfnas.spaces import DSCNN2DSpace
from tfnas.spaces import FamilySpace
from tfnas.spaces import ImageSpace
from tfnas.spaces import MLPSpace
from tfnas.spaces import SignalSpace
from tfnas.spaces import SpectrogramSpace
from tfnas.spaces import get_space
from tfnas.spaces.dscnn2d import stem_geometry

AUTO = [
    ((8, 8, 1), ImageSpace), ((28, 28, 1), ImageSpace), ((49, 10, 1), SpectrogramSpace), ((40, 1), SignalSpace), ((20,), MLPSpace)
]


@pytest.mark.parametrize("shape,cls", AUTO, ids=str)
def test_auto_picks_the_family_space_for_the_shape(shape, cls):
    assert type(get_space("auto", shape, 10)) is cls


def _with_family(space, family):
    hp = kt.HyperParameters()
    hp.Choice("family", list(space.members))
    hp.values["family"] = family
    return hp


@pytest.mark.parametrize("shape", [(8, 8, 1), (40, 1), (49, 10, 1)], ids=str)
def test_every_family_builds_with_only_its_own_hps(shape, register_fn):
    space = get_space("auto", shape, 10)
    registered = {hp.name for hp in register_fn(space).space}
    for family in space.members:
        hp = _with_family(space, family)
        model = space.build(hp)
        assert model.output_shape == (None, 10)
        own = {name for name in hp.values if name not in ("family", "dropout", "learning_rate")}
        assert own and all(name.startswith(f"{family}_") for name in own), own
        others = {name for name in registered if name.split("_")[0] in set(space.members) - {family}}
        assert others and not others & set(hp.values)  # inactive families hold no values


def test_one_build_registers_one_family_and_keras_tuner_finds_all(tmp_path, register_fn):
    space = ImageSpace().configure((8, 8, 1), 10, "classification")
    hp = kt.HyperParameters()
    space.build(hp)
    assert {name.split("_")[0] for name in hp.values} == {"cnn", "family", "dropout", "learning"}
    tuner = kt.RandomSearch(space, objective="val_accuracy", max_trials=1, directory=str(tmp_path), overwrite=True)
    found = {hp.name.split("_")[0] for hp in tuner.oracle.get_space().space}
    assert {"cnn", "mlp", "mobilenet"} <= found
    assert {hp.name for hp in tuner.oracle.get_space().space} == {hp.name for hp in register_fn(space).space}


def test_inactive_family_values_are_not_distinct_candidates(register_fn):
    registered = register_fn(ImageSpace().configure((8, 8, 1), 10, "classification"))
    mlp_hp = next(hp for hp in registered.space if hp.name == "mlp_num_layers")
    hps = registered.copy()
    hps.values = {"family": "cnn"}
    assert not hps.is_active(mlp_hp)
    hps.values = {"family": "mlp"}
    assert hps.is_active(mlp_hp)


def test_small_images_get_stride_one_stems_and_a_flatten_head_choice():
    space = ImageSpace().configure((8, 8, 1), 10, "classification")
    assert space.members["mobilenet"].ranges["stem_strides"] == (1,)
    assert space.members["mobilenet"].ranges["head"] == ("gap", "flatten")
    assert ImageSpace().configure((32, 32, 3), 2, "classification").members["mobilenet"].ranges["stem_strides"] == (1, 2)
    # from 64 px the phone-scale ranges take over (issue 29): a stride-2 stem, as MobileNetV2/V3
    assert ImageSpace().configure((96, 96, 3), 2, "classification").members["mobilenet"].ranges["stem_strides"] == (2,)


def test_mlp_family_flattens_the_image():
    space = ImageSpace().configure((8, 8, 1), 10, "classification")
    model = space.build(_with_family(space, "mlp"))
    assert isinstance(model.get_layer("flatten_input"), keras.layers.Flatten)
    assert model.get_layer("dense1").input.shape == (None, 64)


def test_kws_stem_is_sized_to_the_input():
    assert stem_geometry(49, 10) == ((10, 4), (2, 2))
    model = DSCNN2DSpace().configure((49, 10, 1), 12, "classification").build(kt.HyperParameters())
    stem = model.get_layer("stem_conv")
    assert stem.kernel_size == (10, 4) and stem.strides == (2, 2)
    assert model.get_layer("stem_bn").output.shape[1:3] == (25, 5)


@pytest.mark.parametrize("cls,shape", [(CNN2DSpace, (8, 8, 1)), (CNN1DSpace, (40, 1))], ids=str)
def test_plain_cnn_heads_and_pooling(cls, shape):
    flat = cls(num_blocks=(1,), pooling=("max",), head=("flatten",), dense_units=(0,)).configure(shape, 10, "classification")
    model = flat.build(kt.HyperParameters())
    assert isinstance(model.get_layer("flatten"), keras.layers.Flatten)
    assert "b1_pool" in [layer.name for layer in model.layers]
    pooled = cls(num_blocks=(1,), head=("gap",), dense_units=(32,)).configure(shape, 10, "classification")
    model = pooled.build(kt.HyperParameters())
    assert "pool" in [layer.name for layer in model.layers] and model.get_layer("dense").units == 32


def test_signal_space_starts_with_the_mnist1d_paper_shape():
    """The cnn family's defaults: Conv1D(8, k5) + pool, Conv1D(16, k5) + pool, Flatten: 96% on MNIST-1D at 16k MACs in our
    runs."""
    space = SignalSpace().configure((40, 1), 10, "classification")
    cnn = next(point for point in space.initial_points() if point["family"] == "cnn")
    assert cnn["cnn_num_blocks"] == 2 and cnn["cnn_filters"] == 8 and cnn["cnn_growth"] == 2
    model = space.build(_with_family(space, "cnn"))
    assert [model.get_layer(n).filters for n in ("b1_conv", "b2_conv")] == [8, 16]
    assert model.get_layer("b2_conv").kernel_size == (5,)
    assert model.get_layer("flatten").output.shape == (None, 160)


def test_growth_is_inactive_with_one_block(register_fn):
    registered = register_fn(CNN2DSpace().configure((8, 8, 1), 10, "classification"))
    growth = next(hp for hp in registered.space if hp.name == "growth")
    hps = registered.copy()
    hps.values = {"num_blocks": 1}
    assert not hps.is_active(growth)
    hps.values = {"num_blocks": 2}
    assert hps.is_active(growth)


def test_family_space_rejects_bad_members():
    with pytest.raises(TfnasInputError, match="non-empty dict"):
        FamilySpace(members={})
    with pytest.raises(TfnasInputError, match="must be an EdgeSpace"):
        FamilySpace(members={"x": object()})
    with pytest.raises(TfnasInputError, match="rank 3"):
        FamilySpace(members={"cnn": CNN2DSpace()}).configure((40, 1), 10, "classification")
