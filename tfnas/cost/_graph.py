"""Flattens a built Keras 3 model into a list of layer calls over static per-sample shapes.

Every cost (FLOPs, MACs, parameters, int8 file size, int8 arena) is a sum or a
plan over the same thing: which layer is called on which tensors, with which
shapes. This module walks the functional graph once (Sequential models are
functional underneath, nested models are entered and flattened) and records
each call with the per-sample shapes (batch axis dropped), so costs are the
same whatever batch size the model was built with.

Keras 3 has no public graph-traversal API, so the walk reads the symbolic
history Keras itself uses, through `tfnas._compat.inbound_node` (the one place
that touches Keras's internals); nothing is imported from `keras.src`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import keras

from tfnas._compat import inbound_node
from tfnas.errors import TfnasInputError

Shape = tuple[int, ...]


@dataclasses.dataclass
class Call:
    """One call of a layer (or raw Keras operation) in the flattened graph.

    Attributes:
        op: The Keras layer or operation called.
        name: Path name, nested models included (e.g. "stem_block/conv2d").
        scope: TensorFlow-like name scope of the call in the traced graph
            (e.g. "nested_1/stem_block_1/conv2d_1"); orders branches like the
            TFLite converter does.
        inputs: Tensor ids read, in call order.
        outputs: Tensor ids written.
        node: The Keras node of the call (its symbolic arguments).
        first_call: False for the 2nd+ call of a shared layer (its
            parameters are counted once).
        opaque: True for a nested model whose inner shapes are not static,
            handled as one unknown layer.
    """

    op: Any
    name: str
    scope: str
    inputs: list[int]
    outputs: list[int]
    node: Any
    first_call: bool = True
    opaque: bool = False


@dataclasses.dataclass
class Graph:
    """A flattened model: tensors (per-sample shapes), calls in Keras execution order, inputs and outputs."""

    name: str
    shapes: list[Shape] = dataclasses.field(default_factory=list)
    calls: list[Call] = dataclasses.field(default_factory=list)
    inputs: list[int] = dataclasses.field(default_factory=list)
    input_names: list[str] = dataclasses.field(default_factory=list)
    outputs: list[int] = dataclasses.field(default_factory=list)

    def new_tensor(self, shape: Shape) -> int:
        """Adds a tensor with a per-sample shape and returns its id."""
        self.shapes.append(shape)
        return len(self.shapes) - 1

    def size(self, tensor: int) -> int:
        """Number of elements of a tensor for batch 1."""
        return math.prod(self.shapes[tensor])


def _static(shape: Any, what: str) -> Shape:
    """Per-sample shape of a symbolic shape; raises if a non-batch dim is unknown."""
    dims = tuple(shape)[1:]
    if any(d is None for d in dims):
        raise TfnasInputError(
            f"{what} has shape {tuple(shape)} with an unknown dimension besides the batch: "
            "give the model an Input with a fully static shape, e.g. keras.Input(shape=(32, 32, 3))."
        )
    return tuple(int(d) for d in dims)


def model_io(model: Any) -> tuple[list[Any], list[Any]]:
    """Returns the symbolic inputs and outputs of a built model.

    Raises:
        TfnasInputError: the model is not built (no symbolic inputs), so its
            shapes are unknown.
    """
    if not isinstance(model, keras.Model):
        raise TfnasInputError(f"tfnas.cost.profile expects a Keras 3 model (keras.Model). Received: {type(model)!r}")
    try:
        inputs, outputs = list(model.inputs), list(model.outputs)
    except (AttributeError, ValueError):
        inputs, outputs = [], []
    if not inputs or not outputs:
        raise TfnasInputError(
            f"Model {model.name!r} is not built, so its shapes are unknown: build it with an Input "
            "(keras.Sequential([keras.Input(shape=(...)), ...]) or keras.Model(inputs, outputs)) "
            "or call model.build(input_shape) before profiling it."
        )
    return inputs, outputs


def _nodes_in_order(inputs: list[Any], outputs: list[Any]) -> list[Any]:
    """Nodes between inputs and outputs in topological order (depth-first, inputs of a node in order)."""
    stop = {id(t) for t in inputs}
    order: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(inbound_node(t), False) for t in reversed(outputs) if id(t) not in stop]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for t in reversed(node.input_tensors):
            if id(t) not in stop and id(inbound_node(t)) not in seen:
                stack.append((inbound_node(t), False))
    return [node for node in order if not node.is_input]


def _inner_is_static(inner: keras.Model, outer_shapes: list[Shape]) -> bool:
    """True when a nested model's own symbolic shapes are static and match how it is called."""
    try:
        inputs, _ = model_io(inner)
        return [_static(t.shape, "") for t in inputs] == outer_shapes
    except TfnasInputError:
        return False


def _walk(model: keras.Model, graph: Graph, in_ids: list[int], path: str, scope: str, seen: set[int]) -> list[int]:
    """Appends the calls of `model` (its inputs being tensors `in_ids`) to `graph`; returns its output tensors."""
    inputs, outputs = model_io(model)
    local = {id(t): tid for t, tid in zip(inputs, in_ids, strict=True)}
    for node in _nodes_in_order(inputs, outputs):
        op = node.operation
        ins = [local[id(t)] for t in node.input_tensors]
        name = f"{path}{op.name}"
        op_scope = f"{scope}/{op.name}_1"
        if isinstance(op, keras.Model) and _inner_is_static(op, [graph.shapes[i] for i in ins]):
            outs = _walk(op, graph, ins, f"{name}/", op_scope, seen)
        else:
            outs = [graph.new_tensor(_static(t.shape, f"Output of {name!r}")) for t in node.outputs]
            first = id(op) not in seen
            seen.add(id(op))
            graph.calls.append(Call(op, name, op_scope, ins, outs, node, first, isinstance(op, keras.Model)))
        for t, tid in zip(node.outputs, outs, strict=True):
            local[id(t)] = tid
    return [local[id(t)] for t in outputs]


def flatten_model(model: Any) -> Graph:
    """Flattens a built Keras 3 model into a `Graph` of layer calls.

    Args:
        model: A built Keras 3 model (Sequential, functional, nested models
            inside allowed) whose inputs have static shapes besides the batch.

    Returns:
        The graph, calls in Keras execution order.

    Raises:
        TfnasInputError: the model is not built or has a dynamic shape.
    """
    inputs, _ = model_io(model)
    graph = Graph(name=model.name)
    for i, t in enumerate(inputs):
        graph.inputs.append(graph.new_tensor(_static(t.shape, f"Input {i} of model {model.name!r}")))
        graph.input_names.append(getattr(t, "name", None) or f"input_{i}")
    graph.outputs = _walk(model, graph, list(graph.inputs), "", f"{model.name}_1", set())
    return graph
