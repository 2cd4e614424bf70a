"""The DS-CNN 1-D supernet: an extracted sub-network computes what the supernet computes with it active."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tfnas.errors import TfnasInputError
from tfnas.oneshot import Supernet
from tfnas.oneshot import extract
from tfnas.spaces import DSCNN1DSpace
from tfnas.testing.hps import random_hps

SHAPE = (40, 1)
ATOL = 1e-5

# One elastic dimension at a time; every other hp keeps its default (the smallest stem and the defaults).
DEPTH = [{"num_blocks": n} for n in (1, 2, 4)]
WIDTH = [
    {"stem_filters": 16, "num_blocks": 2, "block1_filters": 16, "block1_skip": True, "block2_filters": 48},
    {"stem_filters": 32, "num_blocks": 3, "block1_filters": 8, "block2_filters": 32, "block3_filters": 32},
]
KERNEL = [
    {"stem_kernel": 5, "num_blocks": 2, "block1_kernel": 3, "block2_kernel": 7},
    {"stem_kernel": 7, "num_blocks": 2, "block1_kernel": 5, "block2_kernel": 3},
]
SWITCHES = [{"stem_strides": 4, "pooling": "avg", "num_blocks": 3, "block2_strides": 2, "block3_skip": False}]


def _perturbed(space: DSCNN1DSpace) -> Supernet:
    """A supernet whose every weight and BN statistic differs per channel, so a wrong slice shows."""
    supernet = Supernet(space)
    rng = np.random.default_rng(0)
    for weight in supernet.weights:
        shape = tuple(weight.shape)
        if weight.path.endswith("moving_variance"):
            weight.assign(rng.uniform(0.5, 2.0, shape).astype("float32"))
        else:
            weight.assign(rng.normal(0.0, 0.5, shape).astype("float32"))
    return supernet


@pytest.fixture(scope="module")
def space() -> DSCNN1DSpace:
    return DSCNN1DSpace(head=("gap", "flatten")).configure(SHAPE, 5, "classification")


@pytest.fixture(scope="module")
def supernet(space) -> Supernet:
    return _perturbed(space)


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(12, *SHAPE)).astype("float32")


def _signature(model: keras.Model) -> list:
    return [(type(layer).__name__, layer.name, [tuple(w.shape) for w in layer.weights]) for layer in model.layers]


def _check(space, supernet, x, values) -> keras.Model:
    model = extract(supernet, values)
    expected = np.asarray(supernet(x, values=values))
    np.testing.assert_allclose(np.asarray(model(x, training=False)), expected, atol=ATOL)
    reference = space.build(supernet.resolve(values).hyperparameters())
    assert _signature(model) == _signature(reference)
    return model


@pytest.mark.parametrize("values", DEPTH + WIDTH + KERNEL + SWITCHES, ids=lambda v: "-".join(map(str, v.values())))
def test_extracted_outputs_equal_supernet(space, supernet, x, values):
    model = _check(space, supernet, x, values)
    assert sum(name.endswith("_pw") for name in (layer.name for layer in model.layers)) == values["num_blocks"]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_random_draws(space, supernet, x, seed):
    _check(space, supernet, x, random_hps(space, seed).values)


def test_default_space_has_no_head_hp(x):
    space = DSCNN1DSpace().configure(SHAPE, 3, "classification")
    supernet = _perturbed(space)
    assert not supernet.heads_flat and "head" not in supernet.active.values
    _check(space, supernet, x, random_hps(space, 7).values)


def test_flatten_head_uses_first_channels_of_every_step(space, supernet, x):
    values = {"head": "flatten", "stem_strides": 2, "num_blocks": 2, "block1_filters": 16}
    values.update({"block2_filters": 16, "block2_strides": 2})
    model = _check(space, supernet, x, values)
    assert model.get_layer("head").kernel.shape == (10 * 16, 5)


def test_slices_are_first_channels_and_kernel_centre(supernet):
    values = {"stem_filters": 8, "stem_kernel": 3, "num_blocks": 1, "block1_filters": 16, "block1_kernel": 5}
    weights = supernet.subnet_weights(values)
    stem = supernet.stem_conv.kernel.numpy()
    np.testing.assert_array_equal(weights["stem_conv"][0], stem[2:5, :, :8])
    dw = supernet.blocks[0][0].kernel.numpy()
    np.testing.assert_array_equal(weights["b1_dw"][0], dw[1:6, :8, :])
    bn = supernet.blocks[0][3]
    np.testing.assert_array_equal(weights["b1_pw_bn"][2], bn.moving_mean.numpy()[:16])


def test_recalibration_sets_moving_mean_to_batch_mean(supernet, x):
    values = random_hps(supernet.space, 2).values
    model = extract(supernet, values, x_calibration=x)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    probe = keras.Model(model.input, [layer.input for layer in norms])
    for layer, inputs in zip(norms, probe(x, training=False), strict=True):
        inputs = np.asarray(inputs)
        np.testing.assert_allclose(layer.moving_mean.numpy(), inputs.mean(axis=(0, 1)), atol=1e-4)
        np.testing.assert_allclose(layer.moving_variance.numpy(), inputs.var(axis=(0, 1)), rtol=1e-3, atol=1e-4)
        assert layer.momentum == 0.9


def test_activate_selects_the_subnet_a_plain_call_runs(space, x):
    supernet = _perturbed(space)
    values = {"num_blocks": 2, "block2_filters": 48}
    net = supernet.activate(values)
    assert net.values["num_blocks"] == 2 and supernet.active is net
    np.testing.assert_array_equal(np.asarray(supernet(x)), np.asarray(supernet(x, values=values)))


def test_training_updates_only_the_active_bn_channels(space, x):
    supernet = _perturbed(space)
    bn = supernet.stem_bn
    before = bn.moving_mean.numpy()
    supernet(x, training=True, values={"stem_filters": 8})
    after = bn.moving_mean.numpy()
    assert not np.allclose(after[:8], before[:8])
    np.testing.assert_array_equal(after[8:], before[8:])


@pytest.mark.parametrize(
    "values,match",
    [
        ({"block1_filters": 12}, r"block1_filters=12 .*allowed values: \[8, 16, 32, 48\]"),
        ({"stem_kernel": 9}, r"stem_kernel=9 .*allowed values: \[3, 5, 7\]"),
        ({"block5_filters": 8}, r"no hyperparameter\(s\) \['block5_filters'\]"),
        ({"block1_skip": 1}, r"block1_skip=1 .*allowed values: \[True, False\]"),
    ],
)
def test_values_outside_the_space_are_rejected(supernet, values, match):
    with pytest.raises(TfnasInputError, match=match):
        extract(supernet, values)
    with pytest.raises(TfnasInputError, match=match):
        supernet.activate(values)


def test_supernet_needs_a_configured_dscnn1d_space():
    with pytest.raises(TfnasInputError, match="configured DSCNN1DSpace"):
        Supernet(DSCNN1DSpace())
