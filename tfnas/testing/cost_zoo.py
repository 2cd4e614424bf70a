"""A zoo of small Keras 3 models that exercises every layer the cost model knows, and its references.

Tests and `benchmarks/bench_cost.py` compare `tfnas.cost.profile` with its
references (the TensorFlow profiler, the int8 TFLite converter, TFLite Micro)
on these models. They are small on purpose (inputs such as (32, 32, 3),
(64, 4), (20,), (8, 8, 1)) so a full comparison runs in seconds on a laptop,
yet they cover Sequential and functional models, branches (residual `Add`,
`Concatenate`, `Multiply`), a nested model, two inputs, "same"/"valid"
padding, strides, `use_bias=False`, and every layer class the cost model has
a rule for.

`APPLICATION_NAMES` adds three Keras Applications at 96x96x3 (random
weights, BatchNormalization settled on one batch): MobileNet alpha 0.25,
MobileNetV2 alpha 0.35 and MobileNetV3Small alpha 0.75 minimalistic. They
take a few seconds each to build and convert, so `cost_zoo()` leaves them
out unless asked (`cost_zoo(applications=True)`, or `build(name)`).

Their biases and BatchNormalization statistics are set to non-zero values,
as in a trained model: the converter drops a zero bias or a zero BN offset,
and the cost model estimates the deployed (trained) model.

Examples:
    >>> models = cost_zoo()
    >>> list(models)[:2]
    ['cnn2d_seq', 'resnet2d']
    >>> blob = convert_int8(models["tiny_cnn"])
    >>> tflm_arena(blob)["head"]
    208
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

L = keras.layers


def _cnn2d_seq() -> keras.Model:
    """Sequential MobileNet-like 2D CNN: Rescaling, strided conv, depthwise, pooling, Flatten."""
    return keras.Sequential([
        keras.Input((32, 32, 3)), L.Rescaling(1.0 / 255),
        L.Conv2D(8, 3, strides=2, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU(),
        L.DepthwiseConv2D(3, padding="same"), L.BatchNormalization(), L.ReLU(max_value=6.0),
        L.Conv2D(16, 1, use_bias=False), L.BatchNormalization(), L.Activation("relu"),
        L.MaxPooling2D(2), L.AveragePooling2D(2, padding="same"),
        L.Flatten(), L.Dropout(0.2), L.Dense(10, activation="softmax"),
    ], name="cnn2d_seq")  # fmt: skip


def _bn_relu(x: keras.KerasTensor) -> keras.KerasTensor:
    """BatchNormalization then ReLU, the usual conv tail."""
    return L.ReLU()(L.BatchNormalization()(x))


def _resnet2d() -> keras.Model:
    """Functional ResNet block: ZeroPadding2D, valid strided conv, residual Add, GAP2D."""
    inputs = keras.Input((32, 32, 3))
    x = _bn_relu(L.Conv2D(8, 3, strides=2, padding="valid")(L.ZeroPadding2D(1)(inputs)))
    y = _bn_relu(L.Conv2D(8, 3, padding="same", use_bias=False)(x))
    y = L.BatchNormalization()(L.Conv2D(8, 3, padding="same", use_bias=False)(y))
    x = L.ReLU()(L.Add()([x, y]))
    outputs = L.Dense(10)(L.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs, name="resnet2d")


def _inception2d() -> keras.Model:
    """Functional Inception-like block: three branches joined by Concatenate, GlobalMaxPooling2D."""
    inputs = keras.Input((32, 32, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)
    a = L.Conv2D(8, 1, activation="relu")(x)
    b = L.SeparableConv2D(8, 3, padding="same", activation="relu")(x)
    c = L.MaxPooling2D(3, strides=1, padding="same")(x)
    c = L.Conv2D(4, 1)(c)
    x = L.Concatenate()([a, b, c])
    x = L.AveragePooling2D(2)(x)
    x = L.SeparableConv2D(16, 3, strides=2, padding="valid", use_bias=False)(x)
    x = L.GlobalMaxPooling2D()(x)
    outputs = L.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="inception2d")


def _dscnn1d() -> keras.Model:
    """Functional DS-CNN for signals (64, 4): Conv1D, DepthwiseConv1D, residual Add, SeparableConv1D."""
    inputs = keras.Input((64, 4))
    x = _bn_relu(L.Conv1D(16, 3, strides=2, padding="same")(inputs))
    y = _bn_relu(L.DepthwiseConv1D(3, padding="same", use_bias=False)(x))
    y = _bn_relu(L.Conv1D(16, 1, use_bias=False)(y))
    x = L.MaxPooling1D(2)(L.Add()([x, y]))
    x = L.SeparableConv1D(24, 3, padding="valid", activation="relu")(x)
    x = L.DepthwiseConv1D(3, strides=2, padding="same")(L.AveragePooling1D(2)(x))
    x = L.Dropout(0.1)(L.GlobalAveragePooling1D()(x))
    outputs = L.Dense(4, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="dscnn1d")


def _conv1d_seq() -> keras.Model:
    """Sequential 1D CNN: ZeroPadding1D, bias-free valid Conv1D, strided "same" Conv1D, GlobalMaxPooling1D."""
    return keras.Sequential([
        keras.Input((64, 4)), L.ZeroPadding1D(2),
        L.Conv1D(12, 5, padding="valid", use_bias=False), L.BatchNormalization(), L.Activation("relu"),
        L.MaxPooling1D(2),
        L.Conv1D(16, 3, strides=2, padding="same", activation="relu"),
        L.Conv1D(16, 3, padding="same", activation="relu"),
        L.GlobalMaxPooling1D(), L.Dense(3),
    ], name="conv1d_seq")  # fmt: skip


def _mlp() -> keras.Model:
    """Sequential MLP on (20,): Dense + BatchNormalization, Dropout, sigmoid and softmax."""
    return keras.Sequential([
        keras.Input((20,)),
        L.Dense(64, activation="relu"), L.BatchNormalization(), L.Dropout(0.3),
        L.Dense(32), L.Activation("sigmoid"),
        L.Dense(16, use_bias=False), L.ReLU(),
        L.Dense(4), L.Softmax(),
    ], name="mlp")  # fmt: skip


def _squeeze_excite() -> keras.Model:
    """Functional squeeze-and-excite block: GAP2D, Dense gates, Reshape and Multiply."""
    inputs = keras.Input((16, 16, 3))
    x = L.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    s = L.GlobalAveragePooling2D()(x)
    s = L.Dense(4, activation="relu")(s)
    s = L.Dense(16, activation="sigmoid")(s)
    s = L.Reshape((1, 1, 16))(s)
    x = L.Multiply()([x, s])
    x = L.MaxPooling2D(2)(x)
    x = L.Conv2D(16, 3, strides=2, padding="valid", activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    outputs = L.Dense(5)(x)
    return keras.Model(inputs, outputs, name="squeeze_excite")


def _tiny_cnn() -> keras.Model:
    """Sequential tiny CNN on (8, 8, 1): valid conv with fused ReLU, MaxPooling2D, Flatten, softmax."""
    return keras.Sequential([
        keras.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2),
        L.Flatten(), L.Dense(3, activation="softmax"),
    ], name="tiny_cnn")  # fmt: skip


def _nested() -> keras.Model:
    """Functional model calling a nested Sequential block, then Reshape, Conv1D and Dense."""
    block = keras.Sequential([
        keras.Input((16, 16, 3)), L.Conv2D(8, 3, strides=2, padding="same", use_bias=False),
        L.BatchNormalization(), L.ReLU(),
    ], name="stem_block")  # fmt: skip
    inputs = keras.Input((16, 16, 3))
    x = block(inputs)
    x = L.Reshape((64, 8))(x)
    x = L.Conv1D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = L.Flatten()(x)
    outputs = L.Dense(6, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="nested")


def _two_inputs() -> keras.Model:
    """Functional model with two inputs (20,) and (8, 8, 1) joined by Concatenate."""
    vec = keras.Input((20,), name="features")
    img = keras.Input((8, 8, 1), name="image")
    a = L.Dense(16, activation="relu")(vec)
    b = L.Conv2D(8, 3, padding="same", activation="relu")(img)
    b = L.AveragePooling2D(2)(b)
    b = L.GlobalAveragePooling2D()(b)
    x = L.Concatenate()([a, b])
    x = L.Dense(8, activation="relu")(x)
    outputs = L.Dense(2, activation="softmax")(x)
    return keras.Model([vec, img], outputs, name="two_inputs")


def _activations() -> keras.Model:
    """Sequential model with the activations TFLite Micro runs: tanh, swish, hard_swish, ReLU6, LeakyReLU."""
    return keras.Sequential([
        keras.Input((32,)),
        L.Dense(32, activation="tanh"), L.Dense(32, activation="swish"),
        L.Dense(32), L.Activation("hard_swish"),
        L.Dense(32), L.LeakyReLU(0.1),
        L.Dense(16), L.ReLU(max_value=6.0),
        L.Dense(4, activation="sigmoid"),
    ], name="activations")  # fmt: skip


_BUILDERS: dict[str, Callable[[], keras.Model]] = {
    "cnn2d_seq": _cnn2d_seq,
    "resnet2d": _resnet2d,
    "inception2d": _inception2d,
    "dscnn1d": _dscnn1d,
    "conv1d_seq": _conv1d_seq,
    "mlp": _mlp,
    "squeeze_excite": _squeeze_excite,
    "tiny_cnn": _tiny_cnn,
    "nested": _nested,
    "two_inputs": _two_inputs,
    "activations": _activations,
}

ZOO_NAMES: tuple[str, ...] = tuple(_BUILDERS)

_APPLICATIONS: dict[str, Callable[[], keras.Model]] = {
    "mobilenet_a025": lambda: keras.applications.MobileNet((96, 96, 3), alpha=0.25, weights=None),
    "mobilenet_v2_a035": lambda: keras.applications.MobileNetV2((96, 96, 3), alpha=0.35, weights=None),
    "mobilenet_v3_small_a075": lambda: keras.applications.MobileNetV3Small(
        (96, 96, 3), alpha=0.75, minimalistic=True, weights=None
    ),
}
APPLICATION_NAMES: tuple[str, ...] = tuple(_APPLICATIONS)


def trained_like(model: keras.Model, seed: int = 0) -> keras.Model:
    """Gives a model non-zero biases and BatchNormalization statistics, as training would.

    Args:
        model: A built Keras 3 model (changed in place).
        seed: Seed of the random values.

    Returns:
        The same model.
    """
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        name = weight.path.rsplit("/", 1)[-1]
        if name in ("gamma", "moving_variance"):
            weight.assign(rng.uniform(0.5, 1.5, weight.shape).astype("float32"))
        elif name in ("bias", "beta", "moving_mean"):
            weight.assign(rng.uniform(-0.5, 0.5, weight.shape).astype("float32"))
    return model


def settle_batchnorm(model: keras.Model, seed: int = 0, batch: int = 8) -> keras.Model:
    """Sets every BatchNormalization's moving statistics to those of one standard-normal batch, in order.

    Random weights with the initial statistics (mean 0, variance 1) shrink the
    activations layer after layer until the int8 scales collapse; one batch
    of real statistics keeps them in range, as training would. Works on
    single-input functional models (the Keras Applications).

    Args:
        model: A built single-input Keras 3 functional model (changed in place).
        seed: Seed of the batch.
        batch: Samples in the batch.

    Returns:
        The same model.
    """
    x = np.random.default_rng(seed).standard_normal((batch, *model.input_shape[1:])).astype("float32")
    norms = [layer for layer in model.layers if isinstance(layer, L.BatchNormalization)]
    for layer in norms:
        act = keras.ops.convert_to_numpy(keras.Model(model.input, layer.input)(x, training=False))
        axes = tuple(range(act.ndim - 1))
        layer.moving_mean.assign(act.mean(axis=axes))
        layer.moving_variance.assign(act.var(axis=axes) + 1e-3)
    return model


def build(name: str, seed: int = 0) -> keras.Model:
    """Builds one zoo model or Keras Application by name (fresh layers, trained-like weights)."""
    if name in _APPLICATIONS:
        keras.utils.set_random_seed(seed)
        return settle_batchnorm(_APPLICATIONS[name](), seed)
    return trained_like(_BUILDERS[name](), seed)


# One input shape per space of `tfnas.spaces.SPACES` for the random-model checks of the cost model.
FAMILY_SHAPES: dict[str, tuple[int, ...]] = {
    "mlp": (20,), "dscnn1d": (49, 10), "mobilenet": (32, 32, 3), "cnn1d": (64, 3), "cnn2d": (16, 16, 1),
    "dscnn2d": (49, 10, 1), "images": (32, 32, 3), "signals": (64, 3), "spectrograms": (49, 10, 1),
}  # fmt: skip


def family_model(space: str, seed: int) -> keras.Model:
    """A random model of one of tfnas's spaces (`FAMILY_SHAPES`), with trained-like weights.

    The hyperparameters are drawn as keras-tuner's random search draws them;
    biases and BatchNormalization gains get trained-like values, and the
    moving statistics are settled on one batch.

    Args:
        space: A key of `FAMILY_SHAPES` (a name of `tfnas.spaces.SPACES`).
        seed: Seed of the draw and of the weights.

    Returns:
        The built (compiled) model.
    """
    from tfnas.spaces import SPACES
    from tfnas.testing.hps import random_hps

    hypermodel = SPACES[space]().configure(FAMILY_SHAPES[space], 4, "classification")
    keras.utils.set_random_seed(seed)
    model = hypermodel.build(random_hps(hypermodel, seed))
    return settle_batchnorm(trained_like(model, seed), seed)


def cost_zoo(applications: bool = False) -> dict[str, keras.Model]:
    """Returns every zoo model, freshly built, as an ordered dict name -> model.

    Args:
        applications: Also build the Keras Applications of `APPLICATION_NAMES` (seconds each).
    """
    names = ZOO_NAMES + (APPLICATION_NAMES if applications else ())
    return {name: build(name) for name in names}


def convert_int8(model: keras.Model, num_samples: int = 16, seed: int = 0) -> bytes:
    """Converts a Keras 3 model to a full-int8 `.tflite` flatbuffer as `tfnas.export` does (batch-1 inputs).

    Calibrated on standard-normal float32 data, for any number of inputs.

    Args:
        model: A built Keras 3 model.
        num_samples: Calibration samples.
        seed: Seed of the calibration data.

    Returns:
        The flatbuffer.
    """
    from tfnas.export import convert

    rng = np.random.default_rng(seed)
    data = [rng.standard_normal((num_samples, *t.shape[1:])).astype("float32") for t in model.inputs]
    return convert(model, "int8", data if len(data) > 1 else data[0])


def tflm_arena(tflite_bytes: bytes, arena_size: int = 4 * 1024 * 1024, timeout: float = 120.0) -> dict[str, int]:
    """Arena bytes TFLite Micro allocates for a model (`tfnas.verify.run_micro`, in a child process).

    Args:
        tflite_bytes: A full-int8 flatbuffer.
        arena_size: Arena given to the interpreter (only an upper bound).
        timeout: Seconds before the child is killed.

    Returns:
        {"head": non-persistent bytes (activations, scratch), "tail":
        persistent bytes, "total": both}.

    Raises:
        MicroRunError: TFLM failed or crashed; the message has its output.
    """
    from tfnas.verify import run_micro

    run = run_micro(tflite_bytes, None, arena_size=arena_size, timeout=timeout)
    return {"head": run.head, "tail": run.tail, "total": run.total}
