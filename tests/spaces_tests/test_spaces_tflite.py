"""Sampled architectures convert to full-int8 TFLite with TFLite Micro ops only, and run on TFLM."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest

from tfnas.spaces import SPACES
from tfnas.testing.tflite_ops import TFLM_INT8_OPS
from tfnas.testing.tflite_ops import calibrate_batchnorm
from tfnas.testing.tflite_ops import io_details
from tfnas.testing.tflite_ops import op_names
from tfnas.testing.tflite_ops import run_tflm_subprocess
from tfnas.testing.tflite_ops import to_int8_tflite
from tfnas.testing.tflite_ops import unsupported_ops

pytestmark = pytest.mark.filterwarnings("ignore:Statistics for quantized inputs:UserWarning")

# (space, input shape, seed); seed None = the default (first-trial) architecture.
SAMPLES = [
    ("mobilenet", (8, 8, 1), None),
    ("mobilenet", (8, 8, 1), 0),
    ("mobilenet", (8, 8, 1), 1),
    ("mobilenet", (16, 16, 3), 2),
    ("dscnn1d", (49, 10), None),
    ("dscnn1d", (49, 10), 0),
    ("dscnn1d", (49, 10), 1),
    ("mlp", (20,), None),
    ("mlp", (20,), 0),
    ("cnn2d", (8, 8, 1), None),
    ("cnn2d", (8, 8, 1), 0),
    ("cnn1d", (40, 1), None),
    ("cnn1d", (40, 1), 1),
    ("dscnn2d", (49, 10, 1), None),
    ("dscnn2d", (49, 10, 1), 2),
    # the family spaces draw a family per seed: together these cover every family of each
    *[("images", (8, 8, 1), seed) for seed in (0, 1, 3)],
    *[("signals", (40, 1), seed) for seed in (0, 1, 2)],
    *[("spectrograms", (49, 10, 1), seed) for seed in (0, 1, 2)],
]
EXPECTED = {
    "mobilenet": {"CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"},
    "dscnn1d": {"CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"},
    "mlp": {"FULLY_CONNECTED", "SOFTMAX"},
    "cnn2d": {"CONV_2D", "FULLY_CONNECTED", "SOFTMAX"},
    "cnn1d": {"CONV_2D", "FULLY_CONNECTED", "SOFTMAX"},
    "dscnn2d": {"CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"},
    "images": {"FULLY_CONNECTED", "SOFTMAX"},
    "signals": {"FULLY_CONNECTED", "SOFTMAX"},
    "spectrograms": {"FULLY_CONNECTED", "SOFTMAX"},
}


def _data(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(0).random((16, *shape), dtype=np.float32)


def _hps(space, seed, random_hps_fn):
    if seed is None:
        return kt.HyperParameters()
    return random_hps_fn(space, seed)


_CACHE: dict[tuple, bytes] = {}


def _converted(name, shape, seed, random_hps_fn) -> bytes:
    key = (name, shape, seed)
    if key not in _CACHE:
        space = SPACES[name]().configure(shape, 4, "classification")
        model = space.build(_hps(space, seed, random_hps_fn))
        # Untrained BN statistics collapse the int8 scales and TFLM aborts on that.
        calibrate_batchnorm(model, _data(shape))
        _CACHE[key] = to_int8_tflite(model, _data(shape), num_samples=16)
    return _CACHE[key]


@pytest.mark.parametrize("name,shape,seed", SAMPLES, ids=str)
def test_converts_to_int8_with_tflm_ops_only(name, shape, seed, random_hps_fn):
    blob = _converted(name, shape, seed, random_hps_fn)
    ops = set(op_names(blob))
    assert not ops - TFLM_INT8_OPS, f"ops TFLite Micro cannot run in int8: {sorted(ops - TFLM_INT8_OPS)}"
    assert EXPECTED[name] <= ops
    assert "RELU" not in ops  # ReLU fuses into the conv / dense op
    inputs, outputs = io_details(blob)
    assert inputs[0]["dtype"] == np.int8 and outputs[0]["dtype"] == np.int8


@pytest.mark.parametrize(
    "name,shape", [("mobilenet", (8, 8, 1)), ("dscnn1d", (49, 10)), ("mlp", (20,)), ("cnn1d", (40, 1)), ("dscnn2d", (49, 10, 1))]
)
def test_runs_on_tflite_micro_like_litert(name, shape, random_hps_fn):
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_litert.interpreter import OpResolverType

    pytest.importorskip("tflite_micro")
    blob = _converted(name, shape, 0, random_hps_fn)
    inputs, outputs = io_details(blob)
    scale, zero_point = inputs[0]["quantization"]
    x = np.clip(np.round(_data(shape)[:4] / scale + zero_point), -128, 127).astype(np.int8)
    micro = run_tflm_subprocess(blob, x, arena_size=128 * 1024)
    # The reference kernels round like TFLite Micro's; XNNPACK's may differ by a few steps.
    litert = Interpreter(model_content=blob, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    litert.allocate_tensors()
    expected = []
    for sample in x:
        litert.set_tensor(inputs[0]["index"], sample[None, ...])
        litert.invoke()
        expected.append(litert.get_tensor(outputs[0]["index"]).reshape(-1))
    assert micro.shape == (4, 4)
    assert np.abs(micro.astype(int) - np.asarray(expected).astype(int)).max() <= 1


def test_allow_list_flags_ops_outside_it():
    inputs = keras.Input((6,))
    outputs = keras.layers.Dense(3, activation="gelu")(inputs)
    blob = to_int8_tflite(keras.Model(inputs, outputs), _data((6,)), num_samples=8)
    assert unsupported_ops(blob)


def test_tflm_failure_is_an_error_not_a_crash():
    pytest.importorskip("tflite_micro")
    with pytest.raises(RuntimeError, match="TFLite Micro failed"):
        run_tflm_subprocess(b"not a flatbuffer at all", np.zeros((1, 2), np.int8), timeout=60)
