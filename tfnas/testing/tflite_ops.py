"""Test helpers: full-int8 TFLite conversion and the ops TFLite Micro runs in int8.

Search spaces promise that every model they build runs on a microcontroller.
These helpers let tests check that promise: convert a Keras 3 model the way a
deployment would (full-integer int8, int8 input and output), list the ops of
the converted flatbuffer, compare them with `TFLM_INT8_OPS`, and run the model
through TFLite Micro in a separate process (TFLM aborts the whole process on
some bad models, so it never runs inside the caller).

Example:
    >>> data = np.random.rand(32, 8, 8, 1).astype("float32")
    >>> blob = to_int8_tflite(model, data)
    >>> assert set(op_names(blob)) <= TFLM_INT8_OPS
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence

import numpy as np

# TFLite builtin ops that TFLite Micro runs in full-int8 models (its kernels in
# tensorflow/lite/micro/kernels). Deliberately explicit: each op was seen in a
# converted int8 model that the tflite-micro package then ran, except SQUEEZE
# and PADV2, taken from TFLM's kernel list. SHAPE and PACK are the int32 shape
# ops that Flatten with a dynamic batch converts to.
TFLM_INT8_OPS: frozenset[str] = frozenset(
    {
        "ADD",
        "AVERAGE_POOL_2D",
        "CONCATENATION",
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "DEQUANTIZE",
        "EXPAND_DIMS",
        "FULLY_CONNECTED",
        "HARD_SWISH",
        "LEAKY_RELU",
        "LOGISTIC",
        "MAX_POOL_2D",
        "MAXIMUM",
        "MEAN",
        "MINIMUM",
        "MUL",
        "PACK",
        "PAD",
        "PADV2",
        "QUANTIZE",
        "RELU",
        "RELU6",
        "RESHAPE",
        "SHAPE",
        "SOFTMAX",
        "SQUEEZE",
        "STRIDED_SLICE",
        "SUB",
        "TANH",
        "TRANSPOSE",
    }
)


def calibrate_batchnorm(model: object, data: np.ndarray) -> None:
    """Sets each BatchNormalization's moving statistics to those of `data` (in place).

    An untrained model keeps the initial moving statistics (mean 0, variance
    1), so its activations shrink layer after layer, the int8 scales fall to
    around 1e-8, and TFLite Micro aborts on such a model. Tests that convert
    untrained models call this first so the model looks like a trained one.

    Args:
        model: A Keras 3 functional model.
        data: Float32 inputs, first axis the batch.
    """
    import keras

    x = np.asarray(data, dtype=np.float32)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            probe = keras.Model(model.input, layer.input)
            act = keras.ops.convert_to_numpy(probe(x, training=False))
            axes = tuple(range(act.ndim - 1))
            layer.moving_mean.assign(act.mean(axis=axes))
            layer.moving_variance.assign(act.var(axis=axes) + 1e-3)


def to_int8_tflite(model: object, representative_data: np.ndarray, num_samples: int = 32) -> bytes:
    """Converts a Keras 3 model to full-integer int8 TFLite bytes.

    Args:
        model: A built Keras 3 model.
        representative_data: Float32 inputs, first axis the batch; the
            converter calibrates int8 ranges on up to `num_samples` of them.
        num_samples: How many samples calibrate the quantization.

    Returns:
        The flatbuffer, with int8 input and output tensors.
    """
    import tensorflow as tf

    samples = np.asarray(representative_data, dtype=np.float32)[:num_samples]

    def representative_dataset():
        for sample in samples:
            yield [sample[None, ...]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return bytes(converter.convert())


def _interpreter(tflite_bytes: bytes) -> object:
    from ai_edge_litert import interpreter as litert

    return litert.Interpreter(
        model_content=tflite_bytes,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )


def op_names(tflite_bytes: bytes) -> list[str]:
    """Lists the op names of a TFLite flatbuffer, in execution order.

    Args:
        tflite_bytes: The flatbuffer.

    Returns:
        Op names such as "CONV_2D", one per op (repeats kept).
    """
    return [op["op_name"] for op in _interpreter(tflite_bytes)._get_ops_details()]


def io_details(tflite_bytes: bytes) -> tuple[list[dict], list[dict]]:
    """Returns the LiteRT input and output details (dtype, shape, quantization)."""
    interp = _interpreter(tflite_bytes)
    return interp.get_input_details(), interp.get_output_details()


def unsupported_ops(tflite_bytes: bytes, allowed: frozenset[str] = TFLM_INT8_OPS) -> set[str]:
    """The ops of a flatbuffer that are not in `allowed` (empty set when it fits)."""
    return set(op_names(tflite_bytes)) - set(allowed)


_TFLM_SCRIPT = r"""
import json, sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
model_path, input_path, arena = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(model_path, "rb") as f:
    blob = f.read()
x = np.load(input_path)
interp = runtime.Interpreter.from_bytes(blob, arena_size=arena)
outputs = []
for sample in x:
    interp.set_input(sample[None, ...], 0)
    interp.invoke()
    outputs.append(np.asarray(interp.get_output(0)).reshape(-1).tolist())
print("TFLM_RESULT " + json.dumps(outputs))
"""


def run_tflm_subprocess(
    tflite_bytes: bytes,
    inputs: Sequence[np.ndarray] | np.ndarray,
    arena_size: int = 256 * 1024,
    timeout: float = 120.0,
) -> np.ndarray:
    """Runs an int8 model through TFLite Micro in a child process.

    TFLM can abort the process on a model it cannot run, so it never runs in
    the caller's process: a crash becomes a `RuntimeError` here.

    Args:
        tflite_bytes: A full-int8 flatbuffer.
        inputs: Int8 samples, first axis the batch (each is fed as batch 1).
        arena_size: TFLM tensor arena size in bytes.
        timeout: Seconds before the child is killed.

    Returns:
        The int8 outputs, one flattened row per sample.

    Raises:
        RuntimeError: TFLM failed or crashed; the message has its output.
    """
    with tempfile.TemporaryDirectory() as tmp:
        model_path = os.path.join(tmp, "model.tflite")
        input_path = os.path.join(tmp, "inputs.npy")
        with open(model_path, "wb") as f:
            f.write(tflite_bytes)
        np.save(input_path, np.asarray(inputs, dtype=np.int8))
        proc = subprocess.run(
            [sys.executable, "-c", _TFLM_SCRIPT, model_path, input_path, str(arena_size)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    for line in proc.stdout.splitlines():
        if line.startswith("TFLM_RESULT ") and proc.returncode == 0:
            return np.asarray(json.loads(line[len("TFLM_RESULT ") :]), dtype=np.int8)
    raise RuntimeError(
        f"TFLite Micro failed (exit code {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )
