"""`tfnas.verify` on the real runtimes: LiteRT in process, TFLite Micro in a child process."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import tfnas
from tfnas._litert_compat import ops_details
from tfnas.errors import MicroRunError
from tfnas.errors import TfnasInputError
from tfnas.verify import run_micro
from tfnas.verify.litert import interpreter

# Where the two runtimes differ, measured by dumping every op's output in both (LiteRT with
# `experimental_preserve_all_tensors`, TFLite Micro with `InterpreterConfig.kPreserveAllTensors`) on the
# digits model trained with seeds 0-4: CONV_2D, DEPTHWISE_CONV_2D, MEAN and SOFTMAX agree bit for bit
# (0 of 3.4M values differ per model, SOFTMAX compared where its input agreed); only FULLY_CONNECTED
# differs, by 1 step on 0.02-0.2% of the logits (1-10 of 4500). LiteRT's reference FULLY_CONNECTED
# requantises its int32 sum with one rounding of the 64-bit product (it matched the exactly rounded value
# on all of them), TFLite Micro's with gemmlowp's two (SaturatingRoundingDoublingHighMul, then
# RoundingDivideByPOT), which lands on the other side of a .5 tie when the product lies within
# 2**-right_shift of one. Each is within a step of the real value, so they differ by at most 1.
# SOFTMAX then turns a logit step s into up to 256 * tanh(s / 2) output steps: 0-3 on this machine
# (seeds 0-4), 6 on another x86-64 CPU, where the model trained to other weights.


def _softmax_steps_bound(path: str) -> int:
    """Most int8 steps the runtimes' outputs can differ by when a FULLY_CONNECTED feeds the final SOFTMAX.

    With every logit off by at most one step s (see the note above), a class
    probability p_j = sigmoid(z_j - logsumexp_{k != j} z_k) has its argument
    moved by at most 2s, so p_j moves by at most tanh(2s / 4) = tanh(s / 2);
    in output steps (scale 1/256) that is tanh(s / 2) * 256, plus 1 for the
    two outputs' own rounding.
    """
    interp = interpreter(path, kernels="reference")
    ops = ops_details(interp)
    assert [op["op_name"] for op in ops[-2:]] == ["FULLY_CONNECTED", "SOFTMAX"]
    details = {t["index"]: t for t in interp.get_tensor_details()}
    logit_scale = details[ops[-1]["inputs"][0]]["quantization"][0]
    output_scale = details[ops[-1]["outputs"][0]]["quantization"][0]
    return math.ceil(math.tanh(logit_scale / 2) / output_scale) + 1


@pytest.fixture(scope="module")
def int8_file(digits, digits_model, tmp_path_factory):
    (x, _), _ = digits
    path = str(tmp_path_factory.mktemp("verify") / "digits.tflite")
    return tfnas.export(digits_model, path, representative_data=x[:200]).path


def test_int8_digits_on_both_runtimes(digits, digits_model, int8_file):
    _, (x_test, y_test) = digits
    report = tfnas.verify(int8_file, x_test, y_test, model=digits_model, latency_runs=20)
    assert report.samples == len(x_test) and report.metric == "accuracy"
    # seeds 0-4 of `digits_model`: float 97.11-98.22% (mean 97.60, std 0.43 points: mean - 3 std = 96.3%),
    # int8 on LiteRT 0 to +0.44 points from float, TFLite Micro equal to LiteRT on every seed
    assert report.float_value > 0.95
    assert report.litert_value >= report.float_value - 0.02
    assert abs(report.micro_value - report.litert_value) <= 0.01
    # the bound the arithmetic allows (15-17 for seeds 0-4: logit scales 0.11-0.12), not one CPU's figure (0-3 here, 6 elsewhere)
    assert report.agreement >= 0.98 and report.max_output_diff <= _softmax_steps_bound(int8_file)
    assert report.arena_total_bytes == report.arena_head_bytes + report.arena_tail_bytes
    assert report.arena_head_bytes == report.predicted_peak_ram_bytes, "the cost model plans TFLM's arena exactly"
    assert report.ops[0] == "CONV_2D" and report.litert_latency_ms > 0
    yaml_ready = report.to_dict()
    assert yaml_ready["micro_error"] is None and yaml_ready["litert_kernels"] == "reference"
    lines = []
    report.summary(print_fn=lines.append)
    assert "LiteRT (reference kernels)" in lines[1] and "default delegates, XNNPACK" in lines[-1]


def test_runtimes_differ_by_one_step_at_most_before_the_softmax(digits, digits_model, tmp_path):
    """Without its SOFTMAX the digits model's outputs are the FULLY_CONNECTED's: the runtimes round it at most 1 apart."""
    (x, _), (x_test, y_test) = digits
    head = digits_model.get_layer("head")
    logits = keras.layers.Dense(head.units, name="logits")
    model = keras.Model(digits_model.inputs, logits(head.input))
    logits.set_weights(head.get_weights())
    path = tfnas.export(model, str(tmp_path / "logits.tflite"), representative_data=x[:200]).path
    report = tfnas.verify(path, x_test, y_test, latency_runs=2)
    assert report.ops[-1] == "FULLY_CONNECTED" and report.max_output_diff <= 1


def test_softmax_kernels_agree_exactly(tmp_path):
    """A lone int8 SOFTMAX on peaked logits: the same input gives the same bytes in both runtimes."""
    inputs = keras.Input((10,))
    model = keras.Model(inputs, keras.layers.Softmax()(inputs))
    rng = np.random.default_rng(0)
    x = (8 * rng.standard_normal((1000, 10))).astype(np.float32)
    path = tfnas.export(model, str(tmp_path / "softmax.tflite"), representative_data=x[:200]).path
    report = tfnas.verify(path, x, rng.integers(0, 10, len(x)), latency_runs=2)
    assert report.ops == ["SOFTMAX"] and report.max_output_diff == 0 and report.agreement == 1.0


@pytest.fixture(scope="module")
def peaked_softmax(tmp_path_factory):
    """A tiny int8 conv model on random data whose large logits make XNNPACK's softmax differ from TFLite Micro's.

    With LiteRT's default delegates the two runtimes' outputs differed by 17 int8 steps;
    with its reference kernels, by 0 (ai-edge-litert 2.3.0; seeds 0-4 of this fixture: 0 each, although
    1-2 of its 3000 logits differ by a step: its softmax saturates).
    """
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    hidden = keras.layers.Flatten()(keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs))
    head = keras.layers.Dense(10, activation="softmax")
    model = keras.Model(inputs, head(hidden))
    kernel, bias = head.get_weights()
    head.set_weights([30 * kernel, bias])
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 10, len(x))
    path = str(tmp_path_factory.mktemp("verify") / "peaked.tflite")
    return tfnas.export(model, path, representative_data=x[:100]).path, x, y


def test_litert_matches_tflite_micro_on_reference_kernels(peaked_softmax):
    path, x, y = peaked_softmax
    report = tfnas.verify(path, x, y, latency_runs=2)
    # logits of scale 0.29-0.34 (seeds 0-4) allow 39-44 steps; the runtimes differ only by FULLY_CONNECTED's rounding
    assert report.max_output_diff <= _softmax_steps_bound(path), "LiteRT's reference kernels round like TFLite Micro's"
    assert report.agreement >= 0.99
    assert report.litert_kernels == "reference" and report.litert_latency_ms > 0


def test_accuracy_comes_from_the_reference_interpreter(peaked_softmax):
    """As regression targets, the reference kernels' own outputs score an error of exactly 0; XNNPACK's would not."""
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_litert.interpreter import OpResolverType

    from tfnas.verify.litert import dequantize
    from tfnas.verify.litert import quantize_inputs
    from tfnas.verify.litert import run_litert

    path, x, _ = peaked_softmax
    x = x[:100]
    outputs = {}
    for resolver in (OpResolverType.BUILTIN_REF, OpResolverType.AUTO):
        interp = Interpreter(model_path=path, experimental_op_resolver_type=resolver)
        interp.allocate_tensors()
        raw = run_litert(interp, quantize_inputs(x, interp.get_input_details()[0]))
        outputs[resolver] = dequantize(raw, interp.get_output_details()[0])
    reference = outputs[OpResolverType.BUILTIN_REF]
    assert not np.array_equal(reference, outputs[OpResolverType.AUTO]), "the model must tell the kernels apart"
    report = tfnas.verify(path, x, reference, task="regression", latency_runs=2)
    assert report.metric == "mae" and report.litert_value == 0.0


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
