"""The order in which the TFLite converter schedules the layers of a model.

Peak RAM depends on the order ops run in: with parallel branches, which branch
runs first decides which tensors are alive together. The converter imports the
traced TensorFlow function with a reverse post-order depth-first walk whose
ties are broken by node name (`GetReversePostOrder` with a name comparator):
starting from every root node (weight resources, constants, inputs), the
children of a node are explored largest name first, and the final order is
the reverse of the order nodes are left. The op order of the `.tflite` file
follows it. This module replays that walk at layer level, with the names the
traced graph gives each layer ("<model>_1/<layer>_1/...", weight resources
"<model>_1_<layer>_1_..._resource"); checked against real conversions of
branching models (tests/cost_tests/test_memory.py).
"""

from __future__ import annotations

from typing import Any

import keras

from tfnas.cost._graph import Graph

L = keras.layers

# Layers whose traced TF ops read a constant (axis, shape, paddings, ...): that constant is a root of the walk.
_CONST_LAYERS = (
    L.Conv1D, L.DepthwiseConv1D, L.SeparableConv1D, L.MaxPooling1D, L.AveragePooling1D,
    L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalMaxPooling1D, L.GlobalMaxPooling2D,
    L.Concatenate, L.Flatten, L.Reshape, L.ZeroPadding1D, L.ZeroPadding2D, L.Rescaling, L.Average,
)  # fmt: skip


def _roots(graph: Graph) -> list[tuple[str, list[int]]]:
    """Root nodes of the traced graph as (name, calls they feed)."""
    roots: list[tuple[str, list[int]]] = []
    readers: dict[int, list[int]] = {}
    for index, call in enumerate(graph.calls):
        for t in call.inputs:
            readers.setdefault(t, []).append(index)
        if getattr(call.op, "weights", None):
            roots.append((call.scope.replace("/", "_").lower() + "_resource", [index]))
        if isinstance(call.op, _CONST_LAYERS):
            roots.append((call.scope + "/Const", [index]))
    for name, t in zip(graph.input_names, graph.inputs, strict=True):
        roots.append((name, readers.get(t, [])))
    return roots


def converter_order(graph: Graph) -> list[int]:
    """Indices of `graph.calls` in the order the TFLite converter runs them.

    Args:
        graph: The flattened model.

    Returns:
        A topological order of the calls (reverse post-order of the
        name-sorted depth-first walk described in the module docstring).
    """
    children: dict[Any, list[Any]] = {}
    produced_by = {t: i for i, call in enumerate(graph.calls) for t in call.outputs}
    for index, call in enumerate(graph.calls):
        for t in call.inputs:
            if t in produced_by:
                children.setdefault(("call", produced_by[t]), []).append(("call", index))
    names: dict[Any, str] = {("call", i): call.scope + "/" for i, call in enumerate(graph.calls)}
    source = ("source", 0)
    for k, (name, fed) in enumerate(_roots(graph)):
        root = ("root", k)
        names[root] = name
        children.setdefault(source, []).append(root)
        children[root] = [("call", i) for i in fed]
    names[source] = ""

    post: list[Any] = []
    visited: set[Any] = set()
    stack: list[tuple[Any, bool]] = [(source, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            post.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        for child in sorted(set(children.get(node, [])), key=lambda n: names[n]):
            if child not in visited:
                stack.append((child, False))
    order = [node[1] for node in reversed(post) if node[0] == "call"]
    placed = set(order)
    return order + [i for i in range(len(graph.calls)) if i not in placed]
