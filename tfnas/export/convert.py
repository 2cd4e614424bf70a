"""TFLite conversion the way a deployment needs it: batch-1 signature, built-in ops only.

Full-integer int8 is what TFLite Micro runs: int8 input and output, weights
and activations calibrated on float32 samples, `TFLITE_BUILTINS_INT8` only.
The experimental sparse format is never enabled: TFLite Micro has no DENSIFY
op, so pruned zeros are stored as zeros and show only in compressed size.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any

import numpy as np

from tfnas import _compat
from tfnas.errors import ConversionError
from tfnas.errors import TfnasInputError

QUANTIZATIONS = ("int8", "float16", "dynamic", "float32")
MAX_CALIBRATION_SAMPLES = 200
# What TensorFlow's converter says on every call that tfnas's own call makes moot (checked with TensorFlow 2.21):
# absl's "Please consider providing the trackable_obj argument ... deprecated" warning (tfnas passes none on
# purpose, see `convert`), and the UserWarning "Statistics for quantized inputs were expected" (int8 input is intended).
_TRACKABLE_OBJ_NOTICE = "Please consider providing the trackable_obj argument in the from_concrete_functions"
_INPUT_STATS_WARNING = "Statistics for quantized inputs were expected"


def convert(
    model: Any, quantization: str = "int8", representative_data: np.ndarray | Sequence[np.ndarray] | None = None
) -> bytes:
    """Converts a Keras 3 or tf_keras model to a TFLite flatbuffer with a batch-1 input.

    Args:
        model: A Keras 3 or tf_keras model (a TF-MOT QAT model too); each input gets a batch-1 signature.
        quantization: "int8" (full integer, int8 input and output), "float16",
            "dynamic" (int8 weights, float activations) or "float32".
        representative_data: Float32 samples `(n, ...)` that calibrate int8
            ranges (a list of arrays, one per input, for several inputs);
            required for "int8" (up to 200 are used).

    Returns:
        The flatbuffer bytes.

    Raises:
        TfnasInputError: unknown quantization, or int8 without representative data.
        ConversionError: the converter failed; the message has its reason.
    """
    import tensorflow as tf

    check_quantization(quantization)
    shapes = [tuple(t.shape[1:]) for t in model.inputs]
    samples = check_representative_data(representative_data, shapes) if quantization == "int8" else None

    names = [f"input_{i}" for i in range(len(shapes))] if len(shapes) > 1 else ["input"]
    specs = [tf.TensorSpec((1, *shape), tf.float32, name=name) for name, shape in zip(names, shapes, strict=True)]
    if len(specs) == 1:
        serve = tf.function(lambda x: model(x, training=False), input_signature=specs)
    else:
        serve = tf.function(lambda *xs: model(list(xs), training=False), input_signature=specs)
    # No trackable object: with one, the converter keeps Keras 3 variables as READ_VARIABLE ops.
    with _without_log(logging.getLogger("absl"), _TRACKABLE_OBJ_NOTICE):
        converter = tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()])
    if quantization != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if samples is not None:  # int8
        converter.representative_dataset = lambda: ([x[i][None, ...] for x in samples] for i in range(len(samples[0])))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), _compat.stderr_captured():
            warnings.filterwarnings("ignore", message=_INPUT_STATS_WARNING, category=UserWarning)
            return bytes(converter.convert())
    except Exception as e:  # the converter raises ConverterError, ValueError, RuntimeError...
        raise ConversionError(
            f"The TFLite converter could not convert {getattr(model, 'name', 'the model')!r} to {quantization}: "
            f"{str(e).strip()[:2000]}\nReplace the layers whose ops it names with layers TFLite has built-in "
            "int8 kernels for, or export with quantization='float32'."
        ) from e


@contextlib.contextmanager
def _without_log(logger: logging.Logger, prefix: str) -> Iterator[None]:
    """Drops `logger`'s records whose message starts with `prefix` for the duration; every other record passes."""

    def keep(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(prefix)

    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


def check_quantization(quantization: str) -> None:
    """Raises a clear error for an unknown quantization mode."""
    if quantization not in QUANTIZATIONS:
        raise TfnasInputError(f"quantization={quantization!r} is not supported: use one of {QUANTIZATIONS}.")


def check_representative_data(data: Any, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Validates int8 calibration data (an array, or one array per input) and returns up to 200 float32 samples each."""
    if data is None:
        raise TfnasInputError(
            "int8 export needs representative_data: pass about 100-200 training inputs, e.g. "
            "representative_data=x_train[:200] (or export a CompressionResult, which keeps some)."
        )
    arrays = list(data) if isinstance(data, (list, tuple)) else [data]
    if len(arrays) != len(shapes):
        raise TfnasInputError(f"The model has {len(shapes)} inputs: pass representative_data as a list of {len(shapes)} arrays.")
    checked = []
    for array, shape in zip(arrays, shapes, strict=True):
        try:
            samples = np.asarray(array, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise TfnasInputError(
                f"representative_data must be a numeric array of inputs. Received {type(array).__name__}."
            ) from e
        if samples.ndim == len(shape):
            samples = samples[None, ...]
        if tuple(samples.shape[1:]) != tuple(shape) or len(samples) == 0:
            raise TfnasInputError(
                f"representative_data has samples of shape {tuple(samples.shape[1:])}, the model takes {tuple(shape)}: "
                "pass inputs exactly as the model sees them, first axis the batch."
            )
        if not np.all(np.isfinite(samples)):
            raise TfnasInputError("representative_data holds NaN or infinite values: int8 ranges cannot be calibrated on them.")
        checked.append(samples[:MAX_CALIBRATION_SAMPLES])
    if len({len(a) for a in checked}) != 1:
        raise TfnasInputError("Each input's representative_data must hold the same number of samples.")
    return checked
