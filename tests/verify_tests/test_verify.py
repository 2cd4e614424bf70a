"""`tfnas.verify` on the real runtimes: LiteRT in process, TFLite Micro in a child process."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import tfnas
from tfnas.errors import TfnasInputError
from tfnas.verify import MicroRunError
from tfnas.verify import run_micro


@pytest.fixture(scope="module")
def int8_file(digits, digits_model, tmp_path_factory):
    (x, _), _ = digits
    path = str(tmp_path_factory.mktemp("verify") / "digits.tflite")
    return tfnas.export(digits_model, path, representative_data=x[:200]).path


def test_int8_digits_on_both_runtimes(digits, digits_model, int8_file):
    _, (x_test, y_test) = digits
    report = tfnas.verify(int8_file, x_test, y_test, model=digits_model, latency_runs=20)
    assert report.samples == len(x_test) and report.metric == "accuracy"
    assert report.float_value > 0.95
    assert report.litert_value >= report.float_value - 0.02
    assert abs(report.micro_value - report.litert_value) <= 0.01
    assert report.agreement >= 0.98
    assert report.arena_total_bytes == report.arena_head_bytes + report.arena_tail_bytes
    assert report.arena_head_bytes == report.predicted_peak_ram_bytes, "the cost model plans TFLM's arena exactly"
    assert report.ops[0] == "CONV_2D" and report.litert_latency_ms > 0
    yaml_ready = report.to_dict()
    assert yaml_ready["micro_error"] is None


def test_a_model_tflite_micro_cannot_run_is_reported_not_raised(tmp_path):
    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="gelu")(inputs))
    x = np.random.default_rng(0).random((10, 8), dtype=np.float32)
    path = tfnas.export(model, str(tmp_path / "gelu.tflite"), representative_data=x, target="litert").path
    report = tfnas.verify(path, x, np.zeros(10, dtype=np.int64), latency_runs=2)
    assert report.micro_value is None and "GELU" in report.micro_error
    assert report.micro_unsupported_ops == ["GELU"] and 0.0 <= report.litert_value <= 1.0


def test_tflite_micro_crash_stays_in_the_child():
    with pytest.raises(MicroRunError, match="TFLite Micro failed"):
        run_micro(b"TFL3" + bytes(200), np.zeros((1, 4), np.int8), timeout=60)


def test_bad_input_is_named(digits, int8_file, tmp_path):
    _, (x_test, y_test) = digits
    with pytest.raises(TfnasInputError, match="No .tflite file"):
        tfnas.verify(str(tmp_path / "missing.tflite"), x_test, y_test)
    with pytest.raises(TfnasInputError, match=r"samples of shape \(64,\)"):
        tfnas.verify(int8_file, x_test.reshape(len(x_test), 64), y_test)
    with pytest.raises(TfnasInputError, match="same, non-zero number of samples"):
        tfnas.verify(int8_file, x_test, y_test[:5])
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a model")
    with pytest.raises(TfnasInputError, match="is not a TFLite model"):
        tfnas.verify(str(junk), x_test, y_test)


def test_compressed_1d_model_keeps_the_predicted_arena(digits, tmp_path):
    """Without QAT the Keras 3 copy is converted, so a pruned DS-CNN with 1D pooling has the arena the cost model plans."""
    import keras_tuner as kt

    from tfnas.spaces import DSCNN1DSpace

    (x, y), (x_test, y_test) = digits
    x, x_test = x.reshape(len(x), 64, 1), x_test.reshape(len(x_test), 64, 1)
    space = DSCNN1DSpace(pooling=("avg",), num_blocks=(2,)).configure((64, 1), 10, "classification")
    model = space.build(kt.HyperParameters())
    model.fit(x, y, epochs=1, verbose=0)
    result = tfnas.compress(model, x, y, prune=0.5, epochs=1)
    report = tfnas.verify(tfnas.export(result, str(tmp_path / "ds.tflite")).path, x_test[:50], y_test[:50], model=model,
                          latency_runs=2)
    assert report.arena_head_bytes == report.predicted_peak_ram_bytes
