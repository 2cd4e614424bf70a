"""The DS-CNN 1-D family (`DSCNN1DSpace`): its sub-networks' hps, the architecture they select, its frames.

`resolve` works out the architecture exactly as `DSCNN1DSpace._body` builds
it (strides clamped, pooling skipped on a 1-step axis, a residual Add only
where a block keeps shape), so the supernet (`tfnas.oneshot.dscnn1d_supernet.Supernet`)
computes what the standalone model built from the same values does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tfnas.oneshot.family import BaseSubnet
from tfnas.oneshot.family import Family
from tfnas.oneshot.family import Reader
from tfnas.oneshot.family import input_shape_of
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
class Subnet(BaseSubnet):
    """A resolved DS-CNN 1-D sub-network: its active hp values (defaults filled in) and the layers they select.

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

    stem_filters: int
    stem_kernel: int
    stem_stride: int
    pooling: str
    blocks: tuple[Block, ...]
    head: str
    length: int


class DSCNN1DFamily(Family):
    """The `DSCNN1DSpace` family: stem, optional pooling, `num_blocks` depthwise-separable blocks."""

    space_type = DSCNN1DSpace
    frame_ranges = ("stem_strides", "pooling", "strides")
    ORDER = {"stem_filters": max, "stem_kernel": max, "stem_strides": min, "num_blocks": max,
             "filters": max, "kernel": max, "strides": min}

    def choices(self, space: DSCNN1DSpace) -> dict[str, tuple]:
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

    def select(self, space: DSCNN1DSpace, read: Reader) -> Subnet:
        length = input_shape_of(space)[0]
        stem_filters, stem_kernel = read("stem_filters"), read("stem_kernel")
        stem_stride = clamp_stride(read("stem_strides"), length)
        length, channels = same_out(length, stem_stride), stem_filters
        pooling = read("pooling")
        if pooling != "none" and length >= 2:
            length = same_out(length, 2)
        else:
            pooling = "none"
        blocks = []
        for i in range(1, read("num_blocks") + 1):
            filters, kernel = read(f"block{i}_filters"), read(f"block{i}_kernel")
            stride = clamp_stride(read(f"block{i}_strides"), length)
            add = bool(read(f"block{i}_skip")) and stride == 1 and channels == filters
            blocks.append(Block(filters, kernel, stride, add))
            length, channels = same_out(length, stride), filters
        head = read("head") if len(space.ranges["head"]) > 1 else space.ranges["head"][0]
        for name in ("dropout", "learning_rate"):
            read(name)
        return Subnet(read.active, stem_filters, stem_kernel, stem_stride, pooling, tuple(blocks), head, length)

    def extreme(self, name: str, options: tuple, end: int) -> Any:
        """`Family.extreme`; the most compute is unpooled, the least the first pooling the space has."""
        if name == "pooling":
            pooled = [p for p in options if p != "none"]
            wanted = "none" if end == 0 else (pooled[0] if pooled else "none")
            return wanted if wanted in options else options[0]
        return super().extreme(name, options, end)

    def frames(self, space: DSCNN1DSpace) -> list[dict[str, tuple]]:
        """`{"stem_strides": (s,), "pooling": (p,), "strides": (min stride,)}` for every s and p.

        The order is by the downsampling before the blocks (stem stride, x2
        with pooling), then stride before pooling (fewer MACs in the stem).
        """
        r = space.ranges
        found = [
            {"stem_strides": (stride,), "pooling": (pooling,), "strides": (min(r["strides"]),)}
            for stride in r["stem_strides"] for pooling in r["pooling"]
        ]
        return sorted(found, key=lambda f: (f["stem_strides"][0] * (1 if f["pooling"][0] == "none" else 2),
                                            f["pooling"][0] != "none"))


def head_lengths(space: DSCNN1DSpace) -> tuple[int, ...]:
    """Every length the time axis can have at the head, over all sub-networks (sorted)."""
    r = space.ranges
    length = input_shape_of(space)[0]
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
