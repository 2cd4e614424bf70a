"""Channel pruning: a smaller model of ordinary layers whose outputs equal the original's with those filters silenced."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import tfnas
from tfnas.compress.channels import _surviving
from tfnas.compress.channels import plan_channels
from tfnas.compress.channels import prune_channels
from tfnas.cost import profile
from tfnas.errors import TfnasInputError
from tfnas.spaces import DSCNN1DSpace
from tfnas.spaces import MobileNetSpace
from tfnas.spaces import get_space
from tfnas.testing.hps import random_hps
from tfnas.testing.tflite_ops import calibrate_batchnorm
from tfnas.verify.litert import file_macs

CASES = [
    ("images", (8, 8, 1), get_space("auto", (8, 8, 1), 10)),
    ("signals", (40, 1), get_space("auto", (40, 1), 10)),
    ("spectrograms", (49, 10, 1), get_space("auto", (49, 10, 1), 10)),
    # residual Adds in every stage: the joined channels are pruned together
    ("mobilenet-skips", (8, 8, 1), MobileNetSpace(skip=(True,), strides=(1,), filters=(16,), num_stages=(2,), expansions=(1, 4))),
    ("dscnn1d", (40, 2), DSCNN1DSpace(head=("gap", "flatten"))),
]


def _silenced(model: keras.Model, plan) -> keras.Model:
    """A copy of `model` whose removed filters output exactly 0 (kernel, bias, and the BN after them zeroed)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for layer in copy.layers:
        kind = type(layer).__name__
        if layer.name in plan.keep and len(plan.keep[layer.name]) < plan.sizes[layer.name]:
            removed = np.setdiff1d(np.arange(plan.sizes[layer.name]), plan.keep[layer.name])
            weights = layer.get_weights()
            kernel = 1 if kind.startswith("Separable") else 0
            weights[kernel][..., removed] = 0.0
            if len(weights) > kernel + 1:
                weights[kernel + 1][removed] = 0.0
            layer.set_weights(weights)
        if kind == "BatchNormalization":
            kept = _surviving(plan.inputs.get(layer.name), plan)
            if kept is not None:
                removed = np.setdiff1d(np.arange(layer.gamma.shape[0]), kept)
                gamma, beta, mean, var = layer.get_weights()
                gamma[removed], beta[removed] = 0.0, 0.0
                layer.set_weights([gamma, beta, mean, var])
    return copy


@pytest.mark.parametrize("name,shape,space", CASES, ids=[c[0] for c in CASES])
def test_pruned_model_equals_the_silenced_original(name, shape, space):
    space = space.configure(shape, 10, "classification")
    pruned_any = False
    for seed in range(4):
        model = space.build(random_hps(space, seed))
        x = np.random.default_rng(seed).random((32, *shape), dtype=np.float32)
        calibrate_batchnorm(model, x)
        plan = plan_channels(model, 0.5)
        pruned = prune_channels(model, plan)
        assert [type(layer) for layer in pruned.layers] == [type(layer) for layer in model.layers]
        if plan.removed:
            pruned_any = True
            assert profile(pruned).macs < profile(model).macs and pruned.count_params() < model.count_params()
        expected = np.asarray(_silenced(model, plan)(x, training=False))
        np.testing.assert_allclose(np.asarray(pruned(x, training=False)), expected, atol=1e-5)
    assert pruned_any


def test_first_and_last_layers_keep_their_filters_and_halves_are_halves():
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, name="first")(inputs)
    x = keras.layers.Conv2D(16, 3, name="middle")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(4, name="head")(x)
    model = keras.Model(inputs, outputs)
    plan = plan_channels(model, 0.5)
    assert len(plan.keep["first"]) == 8 and len(plan.keep["middle"]) == 8 and len(plan.keep["head"]) == 4
    assert "first" in plan.skipped and "head" in plan.skipped
    assert len(plan_channels(model, 0.5, keep=["head"]).keep["first"]) == 4
    assert len(plan_channels(model, {"middle": 0.25}).keep["middle"]) == 12
    kernel = model.get_layer("middle").kernel.numpy()
    strongest = np.argsort(-np.abs(kernel).sum(axis=(0, 1, 2)))[:8]
    assert plan.keep["middle"] == sorted(strongest.tolist())  # L1 norm of each filter


def test_layers_it_cannot_see_through_pin_their_inputs():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(8, 3, name="first")(inputs)
    x = keras.layers.Conv2D(8, 3, name="middle")(x)
    x = keras.layers.Reshape((-1,))(x)
    outputs = keras.layers.Dense(4, name="head")(x)
    plan = plan_channels(keras.Model(inputs, outputs), 0.5)
    assert len(plan.keep["middle"]) == 8 and "reshape" in " ".join(plan.skipped)


def test_taylor_ranks_by_what_the_loss_needs_where_a_norm_cannot():
    """Filters with the largest weights that nothing downstream reads: L1 keeps them, Taylor removes them."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="a")(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="b")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, name="head")(x))
    a_kernel, a_bias = model.get_layer("a").get_weights()
    a_kernel[..., :4] *= 10.0  # large filters ...
    model.get_layer("a").set_weights([a_kernel, a_bias])
    b_kernel, b_bias = model.get_layer("b").get_weights()
    b_kernel[:, :, :4, :] = 0.0  # ... that "b" does not read
    model.get_layer("b").set_weights([b_kernel, b_bias])
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((64, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, 64))
    assert plan_channels(model, {"a": 0.5}, keep=["head"]).keep["a"] == [0, 1, 2, 3]
    assert plan_channels(model, {"a": 0.5}, keep=["head"], criterion="taylor", data=data).keep["a"] == [4, 5, 6, 7]


@pytest.mark.parametrize(
    "kwargs,match",
    [({"ratio": 1.0}, r"share of filters to remove in \(0, 1\)"), ({"ratio": 0.5, "criterion": "entropy"}, "must be one of"),
     ({"ratio": 0.5, "criterion": "taylor"}, r"'taylor' ranks filters by their effect on the loss: pass data"),
     ({"ratio": 0.5, "keep": ["nope"]}, r"Layers \['nope'\] are not in model")],
)
def test_bad_requests(kwargs, match):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(2)])
    with pytest.raises(TfnasInputError, match=match):
        plan_channels(model, **kwargs)


def test_compress_channels_returns_a_smaller_model_in_steps(digits, digits_model):
    (x, y), (x_test, y_test) = digits
    before = profile(digits_model)
    result = tfnas.compress(digits_model, x, y, channels=0.5, epochs=1, validation_data=(x_test, y_test))
    assert [s.stage for s in result.stages] == ["float", "channels 1/2", "channels 2/2"]
    after = profile(result.keras_model)
    assert after.macs < before.macs and after.params < before.params
    assert result.stages[-1].macs == after.macs and result.stages[-1].macs_rate == pytest.approx(1 - after.macs / before.macs)
    assert [type(layer) for layer in result.keras_model.layers] == [type(layer) for layer in digits_model.layers]
    assert result.settings["channels"] == 0.5


def test_compress_to_a_budget_meets_it_by_the_cost_model_and_in_the_file(digits, digits_model, tmp_path):
    (x, y), (x_test, y_test) = digits
    target = int(profile(digits_model).macs * 0.6)
    result = tfnas.compress(digits_model, x, y, target={"max_macs": target}, qat=True, epochs=1, validation_data=(x_test, y_test))
    assert result.stages[-1].stage == "qat" and profile(result.keras_model).macs <= target
    report = tfnas.export(result, str(tmp_path / "budget.tflite"))
    assert file_macs(str(tmp_path / "budget.tflite")) == profile(result.keras_model).macs <= target
    assert report.bytes < tfnas.export(digits_model, str(tmp_path / "full.tflite"), representative_data=x[:50]).bytes
    assert file_macs(str(tmp_path / "full.tflite")) == profile(digits_model).macs


def test_unreachable_budget_fails_before_training(digits, digits_model):
    (x, y), _ = digits
    with pytest.raises(TfnasInputError, match=r"cannot meet target \{'max_macs': 10\}"):
        tfnas.compress(digits_model, x, y, target={"max_macs": 10}, epochs=1)
    with pytest.raises(TfnasInputError, match="channel_steps must be a positive integer"):
        tfnas.compress(digits_model, x, y, channels=0.5, channel_steps=0)


def test_a_model_already_under_the_target_comes_back_unchanged(digits, digits_model):
    """deploy_front(compress_kwargs={"target": ...}) meets front members that are under the target already."""
    (x, y), (x_test, y_test) = digits
    macs = profile(digits_model).macs
    result = tfnas.compress(digits_model, x, y, target={"max_macs": macs}, epochs=1, validation_data=(x_test, y_test))
    assert [s.stage for s in result.stages] == ["float"] and profile(result.keras_model).macs == macs
    assert any("already meets the target" in note for note in result.notes)
