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

from collections.abc import Sequence
from typing import Any

import numpy as np

from tfnas.export.flatbuffer import interpreter
from tfnas.export.flatbuffer import op_names  # noqa: F401  (re-exported for the tests)

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


def calibrate_batchnorm(model: Any, data: np.ndarray) -> None:
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
    """Converts a Keras 3 model to full-integer int8 TFLite bytes, as `tfnas.export` does (batch-1 input).

    Args:
        model: A built Keras 3 model.
        representative_data: Float32 inputs, first axis the batch; the
            converter calibrates int8 ranges on up to `num_samples` of them.
        num_samples: How many samples calibrate the quantization.

    Returns:
        The flatbuffer, with int8 input and output tensors.
    """
    from tfnas.export import convert

    return convert(model, "int8", np.asarray(representative_data, dtype=np.float32)[:num_samples])


def io_details(tflite_bytes: bytes) -> tuple[list[dict], list[dict]]:
    """Returns the LiteRT input and output details (dtype, shape, quantization)."""
    interp = interpreter(tflite_bytes)
    return interp.get_input_details(), interp.get_output_details()


def unsupported_ops(tflite_bytes: bytes, allowed: frozenset[str] = TFLM_INT8_OPS) -> set[str]:
    """The ops of a flatbuffer that are not in `allowed` (empty set when it fits)."""
    return set(op_names(tflite_bytes)) - set(allowed)


def run_tflm_subprocess(
    tflite_bytes: bytes,
    inputs: Sequence[np.ndarray] | np.ndarray,
    arena_size: int = 256 * 1024,
    timeout: float = 120.0,
) -> np.ndarray:
    """Runs int8 samples through TFLite Micro in a child process (`tfnas.verify.run_micro`).

    Args:
        tflite_bytes: A full-int8 flatbuffer.
        inputs: Int8 samples, first axis the batch (each is fed as batch 1).
        arena_size: TFLM tensor arena size in bytes.
        timeout: Seconds before the child is killed.

    Returns:
        The int8 outputs, one flattened row per sample.

    Raises:
        MicroRunError: TFLM failed or crashed; the message has its output.
    """
    from tfnas.verify import run_micro

    return run_micro(tflite_bytes, np.asarray(inputs, dtype=np.int8), arena_size=arena_size, timeout=timeout).outputs
