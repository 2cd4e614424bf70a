"""Sub-networks of a `DSCNN1DSpace` supernet: the space's own hp values, checked and resolved.

A sub-network is named by a dict of the space's hyperparameter values (the
names `DSCNN1DSpace.build` reads), so one `kt.HyperParameters` describes both
a trial-trained candidate and a sub-network of the supernet. `resolve` checks
the values against the space's choices and works out the architecture they
select exactly as `DSCNN1DSpace._body` does (strides clamped, pooling skipped
on a 1-step axis, a residual Add only where a block keeps shape), so the
supernet computes what the standalone model built from the same values does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import keras_tuner as kt

from tfnas.errors import TfnasInputError
from tfnas.spaces import DSCNN1DSpace
from tfnas.spaces.blocks import clamp_stride
from tfnas.spaces.blocks import same_out

BLOCK_HPS = ("filters", "kernel", "strides", "skip")
_BLOCK_RANGES = {"filters": "filters", "kernel": "kernel_sizes", "strides": "strides", "skip": "skip"}


@dataclasses.dataclass(frozen=True)
class Block:
    """One active depthwise-separable block: output filters, kernel size, applied stride, residual Add or not."""

    filters: int
    kernel: int
    stride: int
    add: bool


@dataclasses.dataclass(frozen=True)
class Subnet:
    """A resolved sub-network: its active hp values (defaults filled in) and the layers they select.

    Attributes:
        values: The active hp values, as `DSCNN1DSpace.build` would record them.
        stem_filters: Output channels of the stem conv.
        stem_kernel: Kernel size of the stem conv.
        stem_stride: Applied (clamped) stride of the stem conv.
        pooling: "none", "max" or "avg": the 2x pooling actually applied.
        blocks: The active blocks, first to last.
        head: "gap" or "flatten".
        length: Length of the time axis entering the head.
    """

    values: Mapping[str, Any] = dataclasses.field(hash=False)
    stem_filters: int
    stem_kernel: int
    stem_stride: int
    pooling: str
    blocks: tuple[Block, ...]
    head: str
    length: int

    def hyperparameters(self) -> kt.HyperParameters:
        """A `kt.HyperParameters` holding these values, ready for `space.build`."""
        hp = kt.HyperParameters()
        hp.values.update(self.values)
        return hp


def choices(space: DSCNN1DSpace) -> dict[str, tuple]:
    """Every hp the space can register, with its allowed values (the first is the default)."""
    r = space.ranges
    allowed = {
        "stem_filters": r["stem_filters"],
        "stem_kernel": r["kernel_sizes"],
        "stem_strides": r["stem_strides"],
        "pooling": r["pooling"],
        "num_blocks": r["num_blocks"],
    }
    for i in range(1, max(r["num_blocks"]) + 1):
        allowed.update({f"block{i}_{key}": r[_BLOCK_RANGES[key]] for key in BLOCK_HPS})
    if len(r["head"]) > 1:
        allowed["head"] = r["head"]
    allowed.update({"dropout": r["dropout"], "learning_rate": r["learning_rate"]})
    return allowed


def resolve(space: DSCNN1DSpace, values: Mapping[str, Any]) -> Subnet:
    """Checks `values` against the space and returns the sub-network they select.

    Args:
        space: A configured `DSCNN1DSpace`.
        values: Hp values by name; a missing hp takes its default (first
            choice), as in keras-tuner; values of blocks beyond `num_blocks`
            are checked but unused.

    Returns:
        The resolved `Subnet`.

    Raises:
        TfnasInputError: An hp the space does not have, or a value that is
            not one of its choices.
    """
    allowed = choices(space)
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise TfnasInputError(f"{type(space).__name__} has no hyperparameter(s) {unknown}; it has {list(allowed)}.")
    for name, value in values.items():
        if not any(_same(value, choice) for choice in allowed[name]):
            raise TfnasInputError(
                f"{name}={value!r} is not a choice of {type(space).__name__}; allowed values: {list(allowed[name])}."
            )
    active: dict[str, Any] = {}

    def get(name: str) -> Any:
        active[name] = values[name] if name in values else allowed[name][0]
        return active[name]

    length = space.input_shape[0]
    stem_filters, stem_kernel = get("stem_filters"), get("stem_kernel")
    stem_stride = clamp_stride(get("stem_strides"), length)
    length, channels = same_out(length, stem_stride), stem_filters
    pooling = get("pooling")
    if pooling != "none" and length >= 2:
        length = same_out(length, 2)
    else:
        pooling = "none"
    blocks = []
    for i in range(1, get("num_blocks") + 1):
        filters, kernel = get(f"block{i}_filters"), get(f"block{i}_kernel")
        stride = clamp_stride(get(f"block{i}_strides"), length)
        add = bool(get(f"block{i}_skip")) and stride == 1 and channels == filters
        blocks.append(Block(filters, kernel, stride, add))
        length, channels = same_out(length, stride), filters
    head = get("head") if "head" in allowed else space.ranges["head"][0]
    for name in ("dropout", "learning_rate"):
        get(name)
    return Subnet(active, stem_filters, stem_kernel, stem_stride, pooling, tuple(blocks), head, length)


def head_lengths(space: DSCNN1DSpace) -> tuple[int, ...]:
    """Every length the time axis can have at the head, over all sub-networks (sorted)."""
    r = space.ranges
    length = space.input_shape[0]
    lengths = {same_out(length, clamp_stride(s, length)) for s in r["stem_strides"]}
    pooled = set(lengths) if "none" in r["pooling"] else set()
    if any(p != "none" for p in r["pooling"]):
        pooled |= {same_out(n, 2) if n >= 2 else n for n in lengths}
    reachable: set[int] = set()
    lengths = pooled
    for i in range(1, max(r["num_blocks"]) + 1):
        lengths = {same_out(n, clamp_stride(s, n)) for n in lengths for s in r["strides"]}
        if i in r["num_blocks"]:
            reachable |= lengths
    return tuple(sorted(reachable))


def _same(value: Any, choice: Any) -> bool:
    """Equal values of the same kind (a bool never stands for 1 or 0)."""
    return isinstance(value, bool) == isinstance(choice, bool) and value == choice
