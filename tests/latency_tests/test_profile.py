"""Device profiles: JSON round trip, clear errors on bad files, and predictions over a model's int8 graph."""

from __future__ import annotations

import json
import math

import keras
import pytest

from tfnas.cost._graph import flatten_model
from tfnas.cost._lower import lower
from tfnas.cost.latency import FORMAT
from tfnas.cost.latency import DeviceProfile
from tfnas.cost.latency import model_latency_ms
from tfnas.cost.latency import predict_latency_ms
from tfnas.cost.report import layer_latency_ms
from tfnas.errors import TfnasInputError
from tfnas.latency.calibration import add_rows
from tfnas.latency.measure import measure


@pytest.fixture(scope="module")
def profile(kernel_dir) -> DeviceProfile:
    """A profile of this machine from one small micro-model of every kernel type (enough to predict, not to be exact)."""
    profile = DeviceProfile("test", "cpu", "0", threads=1)
    add_rows(profile, measure(kernel_dir, threads=1, runs=3, warmup=1))
    return profile


def _model() -> keras.Model:
    x = inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def test_round_trip(profile, tmp_path):
    profile.refit_errors()
    profile.save(tmp_path / "p.json")
    loaded = DeviceProfile.load(tmp_path / "p.json")
    assert loaded == profile
    assert json.loads((tmp_path / "p.json").read_text())["format"] == FORMAT
    assert model_latency_ms(_model(), loaded) == model_latency_ms(_model(), profile)  # refitted the same way


def test_prediction_is_overhead_plus_ops(profile):
    model = _model()
    graph = flatten_model(model)
    lowered = lower(graph)
    total, per_op = predict_latency_ms(lowered, graph, profile)
    assert len(per_op) == len(lowered.ops) == 5  # CONV_2D, DEPTHWISE_CONV_2D, MEAN, FULLY_CONNECTED, SOFTMAX
    assert all(ms >= 0 for ms in per_op)
    assert total == pytest.approx(profile.overhead_ms + math.fsum(per_op))
    by_layer = layer_latency_ms(lowered, graph, per_op)
    assert len(by_layer) == len(graph.calls) and sum(by_layer) == pytest.approx(math.fsum(per_op))
    assert sum(ms > 0 for ms in by_layer) <= 4  # conv, depthwise, pooling, dense (its SOFTMAX counted with it)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        (
            '{"format": "nn-meter-predictor", "version": 1}',
            "not a tfnas device profile",
        ),
        ('["a list"]', "not a tfnas device profile"),
        (json.dumps({"format": FORMAT, "version": 99}), "format version 99"),
        (json.dumps({"format": FORMAT, "version": 1, "machine": "m"}), "field 'cpu'"),
    ],
)
def test_corrupt_or_foreign_json_is_refused(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(TfnasInputError, match=message) as info:
        DeviceProfile.load(path)
    assert "bad.json" in str(info.value)


def test_bad_sample_is_refused(profile, tmp_path):
    data = profile.to_dict()
    data["samples"]["ADD"][0]["ms"] = -1
    (tmp_path / "p.json").write_text(json.dumps(data))
    with pytest.raises(TfnasInputError, match=r"samples\['ADD'\]\[0\]"):
        DeviceProfile.load(tmp_path / "p.json")


def test_missing_profile_names_the_command(tmp_path):
    with pytest.raises(TfnasInputError, match="tfnas calibrate"):
        DeviceProfile.load(tmp_path / "none.json")


def test_unmeasured_kernel_names_op_and_command(profile):
    partial = DeviceProfile.from_dict(profile.to_dict())
    del partial.samples["DEPTHWISE_CONV_2D"]
    with pytest.raises(
        TfnasInputError,
        match=r"DEPTHWISE_CONV_2D \(op 1, layer 'depthwise_conv2d.*'\).*tfnas calibrate .* --add DEPTHWISE_CONV_2D",
    ):
        model_latency_ms(_model(), partial)


def test_overhead_and_discount_are_fitted_to_compositions(profile):
    from tfnas.cost._kernel_features import graph_kernels
    from tfnas.cost.latency import fit_op_discount
    from tfnas.cost.latency import ops_ms

    fitted = DeviceProfile.from_dict(profile.to_dict())
    graph = flatten_model(_model())
    ops = [[kind, features] for kind, features in graph_kernels(graph, lower(graph))]
    # a device on which every op costs half an overhead less inside the model than alone
    measured = fitted.overhead_ms + sum(ops_ms(fitted, ops, discount=fitted.overhead_ms * 0.5))
    before = abs(model_latency_ms(_model(), fitted)[0] / measured - 1)
    fitted.compositions = [{"file": "m.tflite", "ms": measured, "ops": ops}]
    fit_op_discount(fitted)
    after = abs(model_latency_ms(_model(), fitted)[0] / measured - 1)
    assert after < 0.02 and after <= before


def _chain(width: int, side: int) -> keras.Model:
    x = inputs = keras.Input((side, side, 3))
    x = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = keras.layers.GlobalAveragePooling2D()(x) if side < 32 else keras.layers.Flatten()(x)  # RESHAPE, its own group
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def test_in_model_scales_are_fitted_to_whole_models(profile, tmp_path):
    from tfnas.cost._kernel_features import graph_kernels
    from tfnas.cost.latency import fit_compositions
    from tfnas.cost.latency import ops_ms

    fitted = DeviceProfile.from_dict(profile.to_dict())
    truth = {"constant_ms": 0.002, "per_op_ms": 0.0005, "conv": 0.8, "depthwise": 1.3, "dense": 1.0, "reshape": 0.0,
             "other": 1.1}  # fmt: skip
    models = [_chain(width, side) for width in (8, 16, 24) for side in (16, 24, 32, 40)]
    compositions = []
    for model in models:  # a device on which ops cost the `truth` scales of their micro-models inside a model
        graph = flatten_model(model)
        ops = [[kind, features] for kind, features in graph_kernels(graph, lower(graph))]
        fitted.in_model = truth
        compositions.append({"file": "m.tflite", "ms": truth["constant_ms"] + sum(ops_ms(fitted, ops)), "ops": ops})
    fitted.in_model = {}
    before = [abs(model_latency_ms(m, fitted)[0] / c["ms"] - 1) for m, c in zip(models, compositions, strict=True)]
    fitted.compositions = compositions
    fit_compositions(fitted)
    after = [abs(model_latency_ms(m, fitted)[0] / c["ms"] - 1) for m, c in zip(models, compositions, strict=True)]
    assert max(after) < 0.01 < max(before)
    fitted.save(tmp_path / "p.json")
    assert DeviceProfile.load(tmp_path / "p.json").in_model == fitted.in_model
    fitted.compositions = compositions[:3]  # too few whole models for seven coefficients: the op discount instead
    fit_compositions(fitted)
    assert fitted.in_model == {}


def test_in_model_must_name_every_group(profile):
    data = profile.to_dict()
    data["in_model"] = {"constant_ms": 0.001}
    with pytest.raises(TfnasInputError, match="'in_model' must be empty or map each of"):
        DeviceProfile.from_dict(data)


def test_version_2_profile_prices_reshape_as_other(profile):
    data = profile.to_dict()
    data["version"] = 2  # before RESHAPE had an in-model group of its own
    data["in_model"] = {"constant_ms": 0.001, "per_op_ms": 0.0, "conv": 1.0, "depthwise": 1.0, "dense": 1.0, "other": 1.2}
    assert DeviceProfile.from_dict(data).in_model["reshape"] == 1.2



def test_profile_older_than_blocks_times_with_the_median_of_all_runs(profile):
    data = profile.to_dict()
    data["version"] = 3
    del data["blocks"]  # its samples were medians of all runs, so verify must time files that way too
    assert DeviceProfile.from_dict(data).blocks == 1


@pytest.mark.parametrize("field, value", [("blocks", "5"), ("repeatability", [0.9])])
def test_ill_typed_optional_field_is_named(profile, field, value):
    data = profile.to_dict()
    data[field] = value
    with pytest.raises(TfnasInputError, match=f"field '{field}' must be"):
        DeviceProfile.from_dict(data)
