"""Builds the 1-D layers of a Keras 3 model as their 2-D twins in tf_keras, for quantization-aware training.

Why: TF-MOT 0.8.1's 8-bit QAT schemes quantize no Conv1D, DepthwiseConv1D
or SeparableConv1D (tensorflow/model-optimization#362) and fold no
BatchNormalization after them, so QAT on a 1-D model trained only its Dense
head, and a QAT-wrapped 1-D pooling converted with extra RESHAPEs (a third
more arena than the cost model predicts). The TFLite converter runs these
layers as their 2-D ops anyway, on (1, 1, T, C) tensors (see
`tfnas.cost._lower`), so the tf_keras copy that QAT trains is built that way
and every conv is quantized, with its BatchNormalization folded:

* Conv1D(k, strides=s, dilation_rate=d) -> Conv2D((1, k), (1, s), dilation (1, d));
  `padding="causal"` -> ZeroPadding2D of d * (k - 1) steps on the left, then "valid".
* DepthwiseConv1D -> DepthwiseConv2D((1, k)), SeparableConv1D -> SeparableConv2D((1, k)).
* MaxPooling1D / AveragePooling1D(p, s) -> MaxPooling2D / AveragePooling2D((1, p), (1, s)).
* BatchNormalization, activations, Dropout and the merges (Add, Concatenate, ...)
  whose inputs are all 4-D stay in the chain, on 4-D tensors.

A Reshape to (1, T, C) goes in before the first layer of a chain; one back
to (T, C) comes out only where another kind of layer reads a chain's result
(a Flatten reads the 4-D tensor directly: it gives the same order), as the
cost model predicts the converter's graph. Layer names do not change, so
weights move by name; the kernels are reshaped (k, cin, cout) <->
(1, k, cin, cout) by the bridge (`tfnas.compress.bridge`). The Keras 3
model the user gets keeps its 1-D layers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tfnas.compress.graph import LayerFactory
from tfnas.compress.graph import layer_name
from tfnas.errors import TfnasInputError

CONVS = {"Conv1D": "Conv2D", "DepthwiseConv1D": "DepthwiseConv2D", "SeparableConv1D": "SeparableConv2D"}
POOLS = {"MaxPooling1D": "MaxPooling2D", "AveragePooling1D": "AveragePooling2D"}
# Layers that act on the last axis alone (or not at all at inference): they run on the 4-D tensors of a chain.
ELEMENTWISE = ("BatchNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Dropout", "GaussianNoise",
               "GaussianDropout", "Add", "Subtract", "Multiply", "Maximum", "Minimum", "Average", "Concatenate")
# Layers that read a chain's 4-D result as they read its 3-D form.
READS_4D = ("Flatten",)

# `twin(layer_config) -> tf_keras layer`: how the bridge makes the tf_keras twin of one Keras 3 layer config.
Twin = Callable[[dict[str, Any]], Any]


def has_1d_layers(model: Any) -> bool:
    """True when `model` (Keras 3 or tf_keras) holds a layer this module builds in 2-D."""
    return any(type(layer).__name__ in CONVS or type(layer).__name__ in POOLS for layer in model.layers)


def layer_factory(tfk: Any, twin: Twin) -> LayerFactory:
    """The `graph.rebuild` factory that builds 1-D chains as 2-D layers on (1, T, C) tensors.

    Args:
        tfk: The `tf_keras` module.
        twin: Makes the tf_keras twin of a layer config (the bridge's own).

    Returns:
        A factory for `tfnas.compress.graph.rebuild`.
    """
    tensors = _Tensors(tfk)

    def make(config: dict[str, Any]) -> Callable[..., Any]:
        class_name, name = config["class_name"], layer_name(config)
        if class_name in CONVS or class_name in POOLS:
            layers = _as_2d(config, tfk, twin)

            def chain(x: Any, **kwargs: Any) -> Any:
                x = tensors.to_4d(x, name)
                for layer in layers:
                    x = layer(x)
                return tensors.mark(x)

            return chain
        made: list[tuple[bool, Any]] = []  # (on 4-D tensors, the layer), on the first call

        def call(*args: Any, **kwargs: Any) -> Any:
            inputs = _flat(args)
            in_chain = class_name in ELEMENTWISE and bool(inputs) and all(map(tensors.is_4d, inputs)) and _stays_4d(config)
            if not in_chain and class_name not in READS_4D:
                args = _map(lambda t: tensors.to_3d(t, name) if tensors.is_4d(t) else t, args)
            if not made:
                made.append((in_chain, twin(_on_4d(config) if in_chain else config)))
            elif made[0][0] != in_chain:
                raise TfnasInputError(
                    f"Layer {name!r} is called both inside a chain of 1-D layers and outside one; QAT cannot build it "
                    "on 2-D tensors. Use a separate layer for each call."
                )
            outputs = made[0][1](*args, **kwargs)
            return tensors.mark(outputs) if in_chain else outputs

        return call

    return make


class _Tensors:
    """Which rebuilt tensors are 4-D chain tensors, and their Reshapes in and out (one each, made once)."""

    def __init__(self, tfk: Any) -> None:
        self.tfk = tfk
        self.lifted: dict[int, list[Any]] = {}  # id(4-D tensor) -> [4-D tensor, its 3-D Reshape or None]
        self.made_4d: dict[int, tuple[Any, Any]] = {}  # id(3-D tensor) -> (3-D tensor, its 4-D Reshape)

    def is_4d(self, t: Any) -> bool:
        return id(t) in self.lifted

    def mark(self, t: Any) -> Any:
        self.lifted[id(t)] = [t, None]
        return t

    def to_4d(self, t: Any, reader: str) -> Any:
        if self.is_4d(t):
            return t
        if id(t) not in self.made_4d:
            if len(t.shape) != 3:
                raise TfnasInputError(
                    f"Layer {reader!r} is a 1-D layer reading a tensor of shape {tuple(t.shape)}; "
                    "expected (batch, steps, channels)."
                )
            reshape = self.tfk.layers.Reshape((1, *_sizes(t.shape[1:])), name=f"{reader}_to_2d")
            self.made_4d[id(t)] = (t, reshape(t))
        return self.made_4d[id(t)][1]

    def to_3d(self, t: Any, reader: str) -> Any:
        entry = self.lifted[id(t)]
        if entry[1] is None:
            entry[1] = self.tfk.layers.Reshape(_sizes(t.shape[2:]), name=f"{reader}_to_1d")(t)
        return entry[1]


def _as_2d(config: dict[str, Any], tfk: Any, twin: Twin) -> list[Any]:
    """The 2-D layers (a causal pad, then the conv or pooling) that do what one 1-D layer config does."""
    class_name, name = config["class_name"], layer_name(config)
    cfg = dict(config["config"])
    if cfg.get("data_format") not in (None, "channels_last"):
        raise TfnasInputError(
            f"Layer {name!r} ({class_name}) has data_format={cfg['data_format']!r}; QAT builds 1-D layers as 2-D ones "
            "and needs data_format='channels_last'."
        )
    cfg["data_format"] = "channels_last"
    layers = []
    if class_name in POOLS:
        strides = cfg.get("strides") or cfg["pool_size"]
        cfg["pool_size"], cfg["strides"] = (1, _one(cfg["pool_size"])), (1, _one(strides))
        return [twin({**config, "class_name": POOLS[class_name], "config": cfg})]
    kernel, dilation = _one(cfg["kernel_size"]), _one(cfg.get("dilation_rate", 1))
    cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"] = (1, kernel), (1, _one(cfg["strides"])), (1, dilation)
    if cfg["padding"] == "causal":
        layers.append(tfk.layers.ZeroPadding2D(((0, 0), (dilation * (kernel - 1), 0)), name=f"{name}_causal_pad"))
        cfg["padding"] = "valid"
    layers.append(twin({**config, "class_name": CONVS[class_name], "config": cfg}))
    return layers


def _on_4d(config: dict[str, Any]) -> dict[str, Any]:
    """The config of a layer moved from (T, C) to (1, T, C) tensors: a positive axis moves one on."""
    cfg = config["config"]
    axis = cfg.get("axis")
    if isinstance(axis, int) and axis > 0:
        return {**config, "config": {**cfg, "axis": axis + 1}}
    if isinstance(axis, (list, tuple)):
        return {**config, "config": {**cfg, "axis": [a + 1 if a > 0 else a for a in axis]}}
    return config


def _stays_4d(config: dict[str, Any]) -> bool:
    """False for a Dropout with a noise shape (written for 3-D tensors): it reads the 3-D form."""
    return not config["config"].get("noise_shape")


def _one(value: Any) -> int:
    """The int of a 1-D layer's size argument (Keras 3 stores `(3,)` or `[3]`)."""
    return int(value[0]) if isinstance(value, (list, tuple)) else int(value)


def _sizes(shape: Any) -> tuple[int, ...]:
    """A Reshape target from a tensor's shape: an unknown length (None) as -1."""
    return tuple(-1 if size is None else int(size) for size in shape)


def _flat(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _flat(v)]
    return [value] if hasattr(value, "shape") else []


def _map(fn: Callable[[Any], Any], value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return type(value)(_map(fn, v) for v in value)
    return fn(value) if hasattr(value, "shape") else value
