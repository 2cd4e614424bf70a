"""The Keras 3 <-> tf_keras bridge: TF-MOT only accepts tf_keras models.

keras-tuner searches with Keras 3; TF-MOT 0.8.1 prunes, clusters and
quantizes only tf_keras (Keras 2) models. `to_tf_keras` rebuilds a Keras 3
model with the same layers in tf_keras (through the search space's own
module-parametrised builder when it is known, else layer by layer from the
model's config), copies the weights and refuses to go on unless both models
give the same outputs. With `as_2d=True` (the copy QAT trains) its 1-D convs
and pooling are built as 2-D layers on (1, T, C) tensors (`as_2d`), their
kernels reshaped. `to_keras3` carries compressed weights back into a Keras 3
model of the original architecture for the user.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from tfnas import _compat
from tfnas.compress import as_2d as as_2d_lib
from tfnas.compress.graph import layer_name
from tfnas.compress.graph import rebuild
from tfnas.errors import BridgeMismatchError
from tfnas.errors import TfnasInputError

# Largest difference allowed between the Keras 3 model and its tf_keras twin.
ATOL = 1e-5

_SKIPPED_KEYS = ("kernel_initializer", "bias_initializer")


def to_tf_keras(
    model: Any,
    check_data: np.ndarray | None = None,
    *,
    space: Any = None,
    hp: Any = None,
    atol: float = ATOL,
    as_2d: bool = False,
) -> Any:
    """Rebuilds a Keras 3 model in tf_keras with the same weights, checked on data.

    Example:
        >>> tf_model = to_tf_keras(model, x[:32])   # tf_keras.Model, same outputs

    Args:
        model: A Keras 3 functional or Sequential model of standard layers.
        check_data: Inputs the two models are compared on; defaults to 16
            standard-normal samples.
        space: The `tfnas.spaces.EdgeSpace` that built `model`; with `hp`, the
            space's own builder rebuilds it (`space.build_with(hp, tf_keras)`).
        hp: The `kt.HyperParameters` of `model` in `space`.
        atol: Largest allowed absolute difference of the outputs.
        as_2d: Build the 1-D convs and pooling as 2-D layers on (1, T, C)
            tensors, with Reshapes where a chain of them starts and ends (see
            `tfnas.compress.as_2d`): what TF-MOT's QAT can quantize. The
            model is then rebuilt from its config, not by `space`.

    Returns:
        An uncompiled `tf_keras.Model` with the layer names and weights of
        `model` (and, with `as_2d`, the Reshape layers it adds).

    Raises:
        TfnasInputError: `model` is not a Keras 3 model, or holds a layer with
            no tf_keras twin (the message names it).
        BridgeMismatchError: the outputs differ by more than `atol`.
    """
    if not _compat.is_keras3_model(model):
        raise TfnasInputError(
            f"to_tf_keras expects a Keras 3 model (keras.Model). You passed an object of type: {type(model).__name__}."
        )
    tfk = _compat.tf_keras()
    if as_2d and as_2d_lib.has_1d_layers(model):
        tf_model = rebuild(model, tfk, as_2d_lib.layer_factory(tfk, lambda config: _tf_keras_layer(config, tfk)))
    elif space is not None and hp is not None:
        tf_model = space.build_with(hp, tfk)
    else:
        tf_model = rebuild(model, tfk, lambda config: _tf_keras_layer(config, tfk))
    copy_weights(model, tf_model)
    check_same_outputs(model, tf_model, check_data, atol)
    return tf_model


def to_keras3(tf_model: Any, like: Any) -> Any:
    """A Keras 3 copy of `like` carrying the weights of `tf_model` (matched by layer name).

    Layers wrapped by TF-MOT's quantization (`quant_<name>`) give the weights
    of the layer inside the wrapper; the kernels of 1-D layers built in 2-D
    (`to_tf_keras(..., as_2d=True)`) lose their leading axis of 1.

    Args:
        tf_model: A tf_keras model whose layers have the names of `like`'s.
        like: The Keras 3 model whose architecture the copy takes.

    Returns:
        A new, uncompiled Keras 3 model.

    Raises:
        TfnasInputError: a layer of `like` has no counterpart with weights of the same shapes.
    """
    import keras

    copy = keras.models.clone_model(like)
    by_name = {layer.name: layer for layer in tf_model.layers}
    for layer in copy.layers:
        if not layer.weights:
            continue
        source = by_name.get(layer.name) or by_name.get(f"quant_{layer.name}")
        if source is None:
            raise TfnasInputError(f"Layer {layer.name!r} has no counterpart in the compressed model.")
        weights = _fitted([np.asarray(w) for w in own_weights(source)], [tuple(w.shape) for w in layer.weights])
        if [w.shape for w in weights] != [tuple(w.shape) for w in layer.weights]:
            raise TfnasInputError(
                f"Layer {layer.name!r}: the compressed weights have shapes {[w.shape for w in weights]}, "
                f"the Keras 3 layer {[tuple(w.shape) for w in layer.weights]}."
            )
        layer.set_weights(weights)
    return copy


def own_weights(layer: Any) -> list:
    """The variables of the layer itself, also when a TF-MOT wrapper holds it.

    A QAT wrapper takes the kernel away from the wrapped layer (which then
    reports no weights) and lists it among its own, named `<layer>/kernel`.
    """
    inner = getattr(layer, "layer", None)
    if inner is None:
        return list(layer.weights)
    return [w for w in layer.weights if w.name.startswith(f"{inner.name}/")]


def copy_weights(source: Any, target: Any) -> None:
    """Copies weights layer by layer, by name, from `source` to `target` (any Keras modules)."""
    by_name = {layer.name: layer for layer in target.layers}
    for layer in source.layers:
        if not layer.weights:
            continue
        twin = by_name.get(layer.name)
        if twin is None:
            raise TfnasInputError(f"Layer {layer.name!r} has no twin of the same name in the rebuilt model.")
        twin.set_weights(_fitted(layer.get_weights(), [tuple(w.shape) for w in twin.weights]))


def _fitted(weights: list[np.ndarray], shapes: list[tuple]) -> list[np.ndarray]:
    """`weights` reshaped where only a leading axis of 1 differs: a 1-D layer's kernel and its 2-D twin's."""
    if len(weights) != len(shapes):
        return weights
    fitted = []
    for w, shape in zip(weights, shapes, strict=True):
        w = np.asarray(w)
        if w.shape != shape and (shape == (1, *w.shape) or w.shape == (1, *shape)):
            w = w.reshape(shape)
        fitted.append(w)
    return fitted


def check_same_outputs(model: Any, other: Any, data: np.ndarray | None = None, atol: float = ATOL) -> float:
    """Largest absolute difference of the two models' outputs on `data`; raises above `atol`."""
    if data is None:
        shape = tuple(model.input_shape[1:])
        data = np.random.default_rng(0).standard_normal((16, *shape)).astype(np.float32)
    data = np.asarray(data, dtype=np.float32)[:64]
    ours = np.asarray(model(data, training=False))
    theirs = np.asarray(other(data, training=False))
    diff = float(np.max(np.abs(ours - theirs)))
    if not diff <= atol:
        raise BridgeMismatchError(
            f"The tf_keras rebuild of {model.name!r} differs from the Keras 3 model by {diff:.3g} (allowed {atol:g}). "
            "A layer's config did not carry over; pass space= and hp= to rebuild it with the search space's builder."
        )
    return diff


def _tf_keras_layer(config: dict[str, Any], tfk: Any) -> Any:
    """The tf_keras twin of one Keras 3 layer config."""
    class_name, name = config["class_name"], layer_name(config)
    cls = getattr(tfk.layers, class_name, None)
    if config.get("module") not in (None, "keras.layers") or cls is None:
        raise TfnasInputError(
            f"Layer {name!r} ({class_name}) has no tf_keras twin, so TF-MOT cannot compress the model. "
            "Use standard keras.layers, or pass space= and hp= so the search space rebuilds it."
        )
    accepted = _init_args(cls)
    kwargs = {}
    for key, value in config["config"].items():
        if key in _SKIPPED_KEYS or key.endswith("_initializer"):
            continue  # the weights are copied, so initializers do not matter
        if key == "dtype":
            value = _dtype_name(value)
        elif key.endswith(("_regularizer", "_constraint")) and isinstance(value, dict):
            getter = tfk.regularizers if key.endswith("_regularizer") else tfk.constraints
            value = getter.get({"class_name": value["class_name"], "config": value["config"]})
        elif isinstance(value, dict) and "class_name" in value:
            raise TfnasInputError(
                f"Layer {name!r} ({class_name}) has a custom object in {key!r} ({value['class_name']}) that "
                "cannot be carried to tf_keras. Use a built-in one, or pass space= and hp=."
            )
        if key in accepted or key in ("name", "trainable", "dtype"):
            kwargs[key] = value
    return cls(**kwargs)


def _init_args(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            names |= set(inspect.signature(vars(klass)["__init__"]).parameters)
    return names


def _dtype_name(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("config", {}).get("name", "float32")
    return value
