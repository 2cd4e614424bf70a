"""Rebuilds a Keras 3 functional graph, layer by layer, with layers of another Keras module.

The walk reads only the public serialised form of the model (`get_config()`:
each layer's `inbound_nodes` name the tensors it was called on), so it works
for any functional or Sequential Keras 3 model made of standard layers. The
caller decides what each layer becomes (`make_layer`): the tf_keras bridge
returns the tf_keras twin of the layer; the low-rank transform returns two
Dense layers in place of one.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from tfnas.errors import TfnasInputError

KERAS_TENSOR = "__keras_tensor__"

# `make_layer(layer_config) -> callable(inputs, **kwargs) -> outputs`.
LayerFactory = Callable[[dict[str, Any]], Callable[..., Any]]


def rebuild(model: Any, k: ModuleType, make_layer: LayerFactory) -> Any:
    """Calls `make_layer`'s layers in the topology of `model` and returns a functional model of `k`.

    Args:
        model: A Keras 3 functional or Sequential model.
        k: The Keras module of the new model (`tf_keras` or `keras`).
        make_layer: Turns one layer's config (as in `model.get_config()["layers"]`)
            into a callable applied where that layer was applied.

    Returns:
        A `k.Model` with the same inputs, outputs and layer names.

    Raises:
        TfnasInputError: the model nests other models, or its graph cannot be read.
    """
    config = model.get_config()
    if "layers" not in config:
        raise TfnasInputError(
            f"Cannot rebuild {type(model).__name__} {model.name!r}: only functional and Sequential models "
            "can be carried to tf_keras. Build the model with the functional API."
        )
    layers = config["layers"]
    if "input_layers" not in config:  # Sequential: chain the layers in order
        return _rebuild_sequential(model, layers, k, make_layer)
    for layer in layers:
        if layer["class_name"] in ("Functional", "Sequential", "Model"):
            raise TfnasInputError(
                f"Layer {layer['name']!r} is a nested model ({layer['class_name']}); tfnas cannot carry nested "
                "models to tf_keras. Flatten it: call the inner model's layers directly in the outer model."
            )
    tensors: dict[tuple[str, int, int], Any] = {}
    pending = [(layer, i, node) for layer in layers for i, node in enumerate(layer["inbound_nodes"] or [None])]
    created: dict[str, Callable[..., Any]] = {}
    while pending:
        waiting = []
        for layer, node_index, node in pending:
            name = layer["name"]
            if layer["class_name"] == "InputLayer":
                cfg = layer["config"]
                shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
                tensors[(name, 0, 0)] = k.Input(shape=tuple(shape[1:]), dtype=cfg.get("dtype"), name=name)
                continue
            try:
                args = _resolve(node["args"], tensors)
                kwargs = {
                    key: _resolve(value, tensors)
                    for key, value in node["kwargs"].items()
                    if value is not None and key not in ("training", "mask")
                }
            except KeyError:
                waiting.append((layer, node_index, node))
                continue
            if name not in created:
                created[name] = make_layer(layer)
            outputs = created[name](*args, **kwargs)
            for j, output in enumerate(outputs if isinstance(outputs, (list, tuple)) else [outputs]):
                tensors[(name, node_index, j)] = output
        if len(waiting) == len(pending):
            names = sorted({layer["name"] for layer, _, _ in waiting})
            raise TfnasInputError(f"Cannot rebuild the graph of {model.name!r}: the inputs of layers {names} are never produced.")
        pending = waiting
    inputs = [tensors[tuple(ref)] for ref in _refs(config["input_layers"])]
    outputs = [tensors[tuple(ref)] for ref in _refs(config["output_layers"])]
    return k.Model(
        inputs[0] if len(inputs) == 1 else inputs,
        outputs[0] if len(outputs) == 1 else outputs,
        name=config.get("name", model.name),
    )


def layer_name(config: dict[str, Any]) -> str:
    """The name of a layer from its serialised config (functional configs repeat it at the top, Sequential ones do not)."""
    return config.get("name") or config["config"]["name"]


def _rebuild_sequential(model: Any, layers: list[dict], k: ModuleType, make_layer: LayerFactory) -> Any:
    first = layers[0]
    if first["class_name"] == "InputLayer":
        shape = first["config"]["batch_shape"]
        layers = layers[1:]
    else:
        shape = (None, *model.input_shape[1:])
    x = inputs = k.Input(shape=tuple(shape[1:]), name="input")
    for layer in layers:
        x = make_layer(layer)(x)
    return k.Model(inputs, x, name=model.name)


def _refs(value: Any) -> list[list]:
    """`["input", 0, 0]` or a list of such, as a list of references."""
    return [value] if value and isinstance(value[0], str) else list(value)


def _resolve(value: Any, tensors: dict) -> Any:
    """Replaces serialised Keras tensors (`keras_history`) with the rebuilt tensors; KeyError if not built yet."""
    if isinstance(value, dict) and value.get("class_name") == KERAS_TENSOR:
        return tensors[tuple(value["config"]["keras_history"])]
    if isinstance(value, (list, tuple)):
        return [_resolve(v, tensors) for v in value]
    return value
