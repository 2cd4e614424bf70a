"""The reference FLOPs count: the TensorFlow profiler on the frozen batch-1 inference graph.

`tfnas.cost.profile` counts FLOPs from per-layer rules, which is fast enough
to run on every candidate of a search. This module is the slow ground truth
those rules are measured against, and the fallback for a layer that has no
rule: trace `model(x, training=False)` for a batch-1 `tf.TensorSpec`, freeze
the variables into constants, and read `total_float_ops` of the profiler's
float_operation view.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

import keras

from tfnas import _compat
from tfnas.cost._graph import model_io


def _specs(tensors: Sequence[Any]) -> list[Any]:
    """Batch-1 `tf.TensorSpec`s for symbolic Keras tensors."""
    import tensorflow as tf

    return [tf.TensorSpec((1,) + tuple(t.shape)[1:], t.dtype) for t in tensors]


# TF ops whose profiler count is 2 * multiply-accumulates (a layer without a rule gets its MACs from them).
_MAC_OPS = frozenset({"Conv2D", "Conv3D", "DepthwiseConv2dNative", "MatMul", "BatchMatMul", "BatchMatMulV2",
                      "BatchMatMulV3", "Conv2DBackpropInput"})  # fmt: skip


def count_flops(fn: Callable[..., Any], specs: Sequence[Any]) -> tuple[int, int]:
    """Profiler float-op count of `fn` traced on `specs`, variables frozen into constants.

    Args:
        fn: A function of the tensors described by `specs`.
        specs: `tf.TensorSpec`s with a fully static shape.

    Returns:
        `total_float_ops` of `tf.compat.v1.profiler.profile` (float_operation
        view), and the part of it counted on conv/matmul ops.
    """
    import tensorflow as tf

    concrete = tf.function(fn).get_concrete_function(*specs)
    frozen = _compat.convert_variables_to_constants(concrete)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")  # the v1 profiler logs a deprecation warning for an API it uses itself
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            stats = tf.compat.v1.profiler.profile(frozen.graph, options=options)
    finally:
        logger.setLevel(level)
    mac_flops, stack = 0, list(stats.children)
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.float_ops and frozen.graph.get_operation_by_name(node.name).type in _MAC_OPS:
            mac_flops += node.float_ops
    return int(stats.total_float_ops), int(mac_flops)


def profiler_flops(model: keras.Model) -> int:
    """FLOPs of one inference of `model` (batch 1), as the TensorFlow profiler counts them.

    This is the reference `tfnas.cost.profile` agrees with; it traces and
    freezes the whole model, so it is orders of magnitude slower.

    Args:
        model: A built Keras 3 model with static input shapes.

    Returns:
        The profiler's total float-op count of `model(x, training=False)`.

    Raises:
        TfnasInputError: the model is not built.
    """
    inputs, _ = model_io(model)

    def forward(*xs: Any) -> Any:
        return model(list(xs) if len(xs) > 1 else xs[0], training=False)

    return count_flops(forward, _specs(inputs))[0]


def node_flops(operation: Any, node: Any) -> tuple[int, int]:
    """Profiler FLOPs of one recorded call of a layer or operation, alone, for batch 1.

    The call is replayed with its recorded arguments on batch-1 tensor
    specs, which is what a one-layer model around it would trace, without
    adding an inbound node to the user's layer.

    Args:
        operation: The Keras layer or operation.
        node: The Keras node of the call (its symbolic arguments).

    Returns:
        The profiler's float-op count of that call, and the part of it
        counted on conv/matmul ops (twice its multiply-accumulates).
    """
    tensors = list(node.arguments.keras_tensors)
    is_layer = isinstance(operation, keras.layers.Layer)

    def replay(*xs: Any) -> Any:
        values = {id(t): x for t, x in zip(tensors, xs, strict=True)}

        def swap(a: Any) -> Any:
            return values.get(id(a), a) if isinstance(a, keras.KerasTensor) else a

        args = keras.tree.map_structure(swap, list(node.arguments.args))
        kwargs = keras.tree.map_structure(swap, dict(node.arguments.kwargs))
        if is_layer:
            kwargs.setdefault("training", False)
        return operation(*args, **kwargs)

    return count_flops(replay, _specs(tensors))
