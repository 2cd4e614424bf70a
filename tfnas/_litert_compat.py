"""The only place that touches LiteRT's private internals (`ai_edge_litert`).

LiteRT's public Python API lists a model's input, output and tensor details
but not its ops. `Interpreter._get_ops_details()` does: one dict per op, in
execution order, with `"index"`, `"op_name"`, `"inputs"` and `"outputs"`
(tensor indices), among others. Checked against the version in `CHECKED`
(`tfnas._versions` warns once when the installed one differs); when a LiteRT
release renames or drops it, this module is the one to change.
"""

from __future__ import annotations

from typing import Any

from tfnas import _versions

CHECKED = {"ai-edge-litert": "2.3.0"}


def ops_details(interp: Any) -> list[dict[str, Any]]:
    """The ops of a LiteRT interpreter's model, in execution order.

    Call it on an interpreter without delegates (e.g. one made with
    `OpResolverType.BUILTIN_REF`): with the default delegates the list also
    holds the `DELEGATE` op that XNNPACK adds.

    Args:
        interp: An `ai_edge_litert.interpreter.Interpreter`, tensors allocated.

    Returns:
        One dict per op with `"index"`, `"op_name"` (e.g. "CONV_2D"),
        `"inputs"` and `"outputs"` (tensor indices).
    """
    _versions.check(CHECKED, __name__)
    return list(interp._get_ops_details())  # pylint: disable=protected-access
