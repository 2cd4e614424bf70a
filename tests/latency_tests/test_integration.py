"""Latency where the rest of tfnas uses costs: the cost report, limits, rewards, config, CLI, compress, verify; bad input."""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pytest

import tfnas
from tfnas.app.cli import main as cli_main
from tfnas.app.config import parse_config
from tfnas.constraints import Constraints
from tfnas.cost import profile
from tfnas.cost.device import load_device
from tfnas.cost.latency import DeviceProfile
from tfnas.errors import TfnasInputError
from tfnas.rewards import Linear
from tfnas.rewards import MnasNet
from tfnas.rewards import Pareto


def _model(filters: int = 8) -> keras.Model:
    x = inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def _data(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 8, 8, 1)).astype("float32"), np.arange(n) % 4


def test_cost_profile_adds_latency_only_with_a_device(device_path):
    model = _model()
    plain, timed = profile(model), profile(model, device=device_path)
    assert "latency_ms" not in plain.to_dict() and plain.latency_ms is None
    assert all(layer.latency_ms is None for layer in plain.layers)
    costs = timed.to_dict(layers=True)
    assert set(costs) - set(plain.to_dict()) == {"latency_ms", "layers"} and timed.metrics()[-1] == "latency_ms"
    assert {k: v for k, v in costs.items() if k not in ("latency_ms", "layers")} == plain.to_dict()
    device = DeviceProfile.load(device_path)
    assert timed.latency_ms == pytest.approx(device.overhead_ms + math.fsum(layer.latency_ms for layer in timed.layers))
    assert all(row["latency_ms"] >= 0 for row in costs["layers"])
    assert " ms" in timed.layers_table().splitlines()[0] and "latency_ms ~" in timed.layers_table()


def test_cost_profile_names_an_unmeasured_kernel_and_the_command(device_path, tmp_path):
    data = json.loads(open(device_path).read())
    del data["samples"]["DEPTHWISE_CONV_2D"]
    (tmp_path / "partial.json").write_text(json.dumps(data))
    with pytest.raises(TfnasInputError, match=r"DEPTHWISE_CONV_2D .*tfnas calibrate .* --add DEPTHWISE_CONV_2D"):
        profile(_model(), device=str(tmp_path / "partial.json"))


def test_latency_limit_is_a_float_and_reads_in_milliseconds():
    limits = Constraints.from_any({"max_latency_ms": 2.5, "max_macs": 1000})
    assert limits.limits() == {"macs": 1000, "latency_ms": 2.5}
    assert limits.violations({"macs": 10, "latency_ms": 2.75}) == ["latency_ms 2.75 > max_latency_ms 2.5"]
    assert limits.is_feasible({"macs": 10, "latency_ms": 2.4})


def test_rewards_read_latency_like_any_cost():
    mnas = MnasNet(target=4.0, metric="latency_ms").bind("val_accuracy", "max")
    assert mnas({"val_accuracy": 0.9, "latency_ms": 8.0}) < mnas({"val_accuracy": 0.9, "latency_ms": 2.0})
    pareto = Pareto(costs=("latency_ms",)).bind("val_accuracy", "max")
    keys = pareto.rank([{"val_accuracy": 0.9, "latency_ms": 2.0}, {"val_accuracy": 0.8, "latency_ms": 3.0}])
    assert keys[0] > keys[1]  # the second is dominated: less accurate and slower


@pytest.mark.parametrize(
    "kwargs",
    [
        {"constraints": {"max_latency_ms": 4}},
        {"reward": MnasNet(target=4.0, metric="latency_ms")},
        {"reward": Pareto(costs=("macs", "latency_ms"))},
        {"reward": Linear(metric="latency_ms", reference=4.0)},
    ],
)
def test_latency_without_a_device_is_refused_before_training(kwargs, tmp_path):
    x, y = _data()
    with pytest.raises(TfnasInputError, match="latency_ms, which needs a device profile.*tfnas calibrate"):
        tfnas.search(x, y, max_trials=1, epochs=1, directory=str(tmp_path), verbose=0, **kwargs)
    assert not (tmp_path / "search").exists()  # nothing trained, no run directory


@pytest.mark.parametrize("content, message", [("{oops", "not valid JSON"), ('{"format": "onnx"}', "not a tfnas device profile")])
def test_search_refuses_a_corrupt_or_foreign_profile(content, message, tmp_path):
    (tmp_path / "phone.json").write_text(content)
    x, y = _data()
    with pytest.raises(TfnasInputError, match=message):
        tfnas.search(x, y, max_trials=1, epochs=1, directory=str(tmp_path), verbose=0, device=str(tmp_path / "phone.json"),
                     constraints={"max_latency_ms": 4})  # fmt: skip
    assert not (tmp_path / "search").exists()


def test_another_quantization_is_an_error_and_other_conditions_warn(device_path, tmp_path):
    data = json.loads(open(device_path).read())
    (tmp_path / "f16.json").write_text(json.dumps({**data, "quantization": "float16"}))
    with pytest.raises(TfnasInputError, match="calibrated for float16 models, but tfnas.search predicts int8"):
        load_device(str(tmp_path / "f16.json"), purpose="tfnas.search")
    (tmp_path / "old.json").write_text(json.dumps({**data, "litert_version": "0.0.1"}))
    with pytest.warns(UserWarning, match=r"LiteRT 0\.0\.1, but tfnas\.search uses LiteRT \d"):
        load_device(str(tmp_path / "old.json"), purpose="tfnas.search")
    with pytest.warns(UserWarning, match=r"measured at 1 thread\(s\), but the export uses 4"):
        load_device(device_path, threads=4, purpose="the export")


def test_config_takes_a_device_and_a_latency_limit(tmp_path):
    config = parse_config({"data": "digits", "device": "phone.json", "constraints": {"max_latency_ms": 3}},
                          str(tmp_path / "run.yaml"))  # fmt: skip
    assert config.device_path == str(tmp_path / "phone.json")
    assert config.constraints["max_latency_ms"] == 3.0
    assert parse_config({"data": "digits"}).device_path is None
    with pytest.raises(TfnasInputError, match="device.profile"):
        parse_config({"data": "digits", "device": {"profile": 3}})


def test_cli_calibrate_writes_kernels_and_fits_a_csv(tmp_path, capsys, kernel_dir):
    from tfnas.latency.measure import measure
    from tfnas.latency.measure import write_csv

    assert cli_main(["calibrate"]) == 2 and "tfnas calibrate OUT.json" in capsys.readouterr().err
    assert cli_main(["calibrate", "--kernels", str(tmp_path / "k"), "--add", "ADD"]) == 0
    assert "python -m tfnas.latency.measure" in capsys.readouterr().out
    write_csv(measure(kernel_dir, threads=1, runs=3, warmup=1), str(tmp_path / "t.csv"))
    assert cli_main(["calibrate", str(tmp_path / "p.json"), "--from", str(tmp_path / "t.csv")]) == 0
    assert "CONV_2D" in DeviceProfile.load(tmp_path / "p.json").kernels()
    assert cli_main(["calibrate", str(tmp_path / "q.json"), "--quantization", "float16"]) == 2
    assert "int8 kernels only" in capsys.readouterr().err


@pytest.fixture(scope="module")
def conv_device(device_path, tmp_path_factory) -> DeviceProfile:
    """The test profile with convolutions of several widths measured: enough for latency to grow with filters."""
    from tfnas.latency import sampling
    from tfnas.latency.calibration import add_rows
    from tfnas.latency.kernels import write_kernels
    from tfnas.latency.measure import measure

    device = DeviceProfile.load(device_path)
    params = {"h": 16, "w": 16, "kh": 3, "kw": 3, "stride": 1, "padding": "same", "act": "relu"}
    specs = [sampling.Spec("CONV_2D", {"kind": "CONV_2D", **params, "cin": cin, "cout": cout}, f"conv_{i}.tflite")
             for i, (cin, cout) in enumerate([(3, 4), (3, 32), (32, 4), (32, 16), (32, 32), (16, 8)])]  # fmt: skip
    folder = str(tmp_path_factory.mktemp("convs"))
    write_kernels(specs, folder)
    add_rows(device, measure(folder, threads=1, runs=10, warmup=2))
    return device


def test_channel_pruning_meets_a_latency_target(conv_device):
    from tfnas.compress import PruneChannels
    from tfnas.compress.channel_budget import Pruning
    from tfnas.compress.channel_budget import shares_for_target
    from tfnas.task import Task

    x = inputs = keras.Input((16, 16, 3))
    for filters in (32, 32):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    with pytest.raises(TfnasInputError, match="latency_ms, which needs a device profile"):
        PruneChannels(target={"max_latency_ms": 1.0}).check(model, Task("classification"))
    device = conv_device
    pruning = Pruning(keep=None, device=device)
    full, most = pruning.costs(model, {})["latency_ms"], pruning.costs(model, 0.9)["latency_ms"]
    assert most < full
    limit = (most + full) / 2
    shares = shares_for_target(model, Constraints.from_any({"max_latency_ms": limit}), pruning)
    assert shares and pruning.costs(model, shares)["latency_ms"] <= limit
    PruneChannels(target={"max_latency_ms": limit}, device=device).check(model, Task("classification"))
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    x, y = np.random.default_rng(0).normal(size=(64, 16, 16, 3)).astype("float32"), np.arange(64) % 10
    with pytest.raises(TfnasInputError, match="needs a device profile"):
        tfnas.compress(model, x, y, target={"max_latency_ms": limit}, epochs=1)
    done = tfnas.compress(model, x, y, target={"max_latency_ms": limit}, device=device, epochs=1, channel_steps=1)
    assert profile(done.keras_model, device=device).latency_ms <= limit
    assert profile(model, device=device).latency_ms > limit  # the target was not met before


def test_verify_times_the_file_with_the_profiles_harness(device_path, tmp_path):
    model = _model()
    x = np.random.default_rng(0).normal(size=(8, 16, 16, 3)).astype("float32")
    y = np.arange(8) % 10
    tfnas.export(model, str(tmp_path / "m.tflite"), representative_data=x)
    report = tfnas.verify(str(tmp_path / "m.tflite"), x, y, model=model, device=device_path)
    assert report.latency_ms > 0 and report.latency_p95_ms >= report.latency_ms and report.threads == 1
    assert report.predicted_latency_ms == pytest.approx(profile(model, device=device_path).latency_ms)
    assert report.latency_vs_prediction == pytest.approx(report.latency_ms / report.predicted_latency_ms)
    assert "latency_vs_prediction" in report.to_dict()
    plain = tfnas.verify(str(tmp_path / "m.tflite"), x, y, model=model)
    assert plain.latency_ms is None and plain.latency_vs_prediction is None
    tfnas.export(model, str(tmp_path / "f.tflite"), quantization="float32")
    with pytest.raises(TfnasInputError, match="calibrated for int8 models"):
        tfnas.verify(str(tmp_path / "f.tflite"), x, y, device=device_path)
