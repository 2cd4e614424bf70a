"""The MobileNet family (`MobileNetSpace`, `DSCNN2DSpace`): its sub-networks' hps, their architecture, its frames.

`resolve` works out the architecture exactly as `MobileNetSpace._body` and
`_block` build it: the stem (3x3 at `stem_strides`, or for `DSCNN2DSpace`
the kernel and stride of `stem_geometry`, with no `stem_strides` hp), then
per active stage its first `stage{i}_blocks` blocks, the first at the stage's
stride (clamped on a 1-pixel axis), each an inverted residual when its
expansion is above 1 and a depthwise-separable block otherwise, with a
residual Add only where the block keeps shape. The supernet that runs them is
`tfnas.oneshot.mobilenet_supernet.MobileNetSupernet`.
"""

from __future__ import annotations

import dataclasses

from tfnas.errors import TfnasInputError
from tfnas.oneshot.family import BaseSubnet
from tfnas.oneshot.family import Family
from tfnas.oneshot.family import Reader
from tfnas.oneshot.family import input_shape_of
from tfnas.spaces import DSCNN2DSpace
from tfnas.spaces import MobileNetSpace
from tfnas.spaces.blocks import clamp_stride
from tfnas.spaces.blocks import same_out
from tfnas.spaces.dscnn2d import stem_geometry
from tfnas.spaces.mobilenet import stage_filters

Shape = tuple[int, int]
STAGE_HPS = {"blocks": "blocks", "filters": "filters", "kernel": "kernel_sizes", "expansion": "expansions",
             "strides": "strides", "skip": "skip"}
# The phone-scale ranges the supernet has no weights for: every frame pins each to the value the supernet builds
# (the microcontroller default), so a one-shot search of a phone-scale space searches the rest.
PINNED = {"width_multiplier": 1.0, "squeeze_excite": False, "activations": "relu", "last_filters": 0, "head_units": 0}


@dataclasses.dataclass(frozen=True)
class StageBlock:
    """One active block: where it sits, its widths, kernel, expansion, applied stride, residual Add or not.

    Attributes:
        stage: Its stage (1-based).
        index: Its place in the stage (1-based).
        in_channels: Channels entering it.
        filters: Channels leaving it.
        kernel: Depthwise kernel size (square).
        expansion: 1: depthwise-separable; above 1: inverted residual expanding to `in_channels * expansion`.
        stride: Applied (clamped) stride per axis.
        add: Whether a residual Add closes it.
    """

    stage: int
    index: int
    in_channels: int
    filters: int
    kernel: int
    expansion: int
    stride: Shape
    add: bool

    @property
    def name(self) -> str:
        """The prefix of its layers in the space's model ("s2b1")."""
        return f"s{self.stage}b{self.index}"


@dataclasses.dataclass(frozen=True)
class MobileNetSubnet(BaseSubnet):
    """A resolved MobileNet-family sub-network: its active hp values and the layers they select.

    Attributes:
        values: The active hp values, as the space's `build` would record them.
        stem_filters: Output channels of the stem conv.
        stem_kernel: Kernel of the stem conv (height, width).
        stem_stride: Applied (clamped) stride of the stem conv.
        blocks: The active blocks of every active stage, first to last.
        head: "gap" or "flatten".
        shape: Height and width of the map entering the head.
    """

    stem_filters: int
    stem_kernel: Shape
    stem_stride: Shape
    blocks: tuple[StageBlock, ...]
    head: str
    shape: Shape


class MobileNetFamily(Family):
    """`MobileNetSpace` and `DSCNN2DSpace`: a stem, then `num_stages` stages of `stage{i}_blocks` blocks."""

    space_type = MobileNetSpace
    frame_ranges = ("stem_strides", "strides", *PINNED)
    ORDER = {"stem_filters": max, "stem_strides": min, "num_stages": max, "blocks": max, "filters": max,
             "kernel": max, "expansion": max, "strides": min}

    def choices(self, space: MobileNetSpace) -> dict[str, tuple]:
        r = space.ranges
        allowed = {"stem_filters": r["stem_filters"]}
        if _has_stem_strides(space):
            allowed["stem_strides"] = r["stem_strides"]
        allowed["num_stages"] = r["num_stages"]
        for i in range(1, max(r["num_stages"]) + 1):
            allowed.update({f"stage{i}_{key}": r[name] for key, name in STAGE_HPS.items()})
            allowed[f"stage{i}_filters"] = stage_filters(r, i)
        if len(r["head"]) > 1:
            allowed["head"] = r["head"]
        allowed.update({"dropout": r["dropout"], "learning_rate": r["learning_rate"]})
        return allowed

    def select(self, space: MobileNetSpace, read: Reader) -> MobileNetSubnet:
        r = space.ranges
        unpinned = {key: r[key] for key, value in PINNED.items() if r[key] != (value,)}
        if unpinned:
            raise TfnasInputError(
                f"the MobileNet supernet builds {PINNED}; the space has {unpinned}: narrow it to a frame "
                "(tfnas.oneshot.frame.narrow(space, frames(space)[0])) before resolving sub-networks."
            )
        stem_filters = read("stem_filters")
        stem_kernel, stem_stride = stem(space, read("stem_strides") if _has_stem_strides(space) else None)
        (h, w), channels = _strided(input_shape_of(space)[:2], stem_stride), stem_filters
        blocks = []
        for i in range(1, read("num_stages") + 1):
            count, filters, kernel = read(f"stage{i}_blocks"), read(f"stage{i}_filters"), read(f"stage{i}_kernel")
            expansion, first, skip = read(f"stage{i}_expansion"), read(f"stage{i}_strides"), read(f"stage{i}_skip")
            for b in range(1, count + 1):
                s = first if b == 1 else 1
                stride = (clamp_stride(s, h), clamp_stride(s, w))
                add = bool(skip) and stride == (1, 1) and channels == filters
                blocks.append(StageBlock(i, b, channels, filters, kernel, expansion, stride, add))
                (h, w), channels = _strided((h, w), stride), filters
        head = read("head") if len(r["head"]) > 1 else r["head"][0]
        for name in ("dropout", "learning_rate"):
            read(name)
        return MobileNetSubnet(read.active, stem_filters, stem_kernel, stem_stride, tuple(blocks), head, (h, w))

    def frames(self, space: MobileNetSpace) -> list[dict[str, tuple]]:
        """`{"stem_strides": (s,), "strides": (t,)}` for every stem stride s and stage stride t.

        A phone-scale space's frames also pin the ranges the supernet has no
        weights for (`PINNED`: no squeeze-and-excite, ReLU, ...); the others
        already have those values only.

        `DSCNN2DSpace`'s stem stride follows the input, so its frames fix
        `strides` only. The order is by the summed area of the feature maps of
        the deepest sub-network, largest first (a proxy of its MACs), then
        the larger stem stride first (fewer MACs in the stem).
        """
        r = space.ranges
        missing = {key: r[key] for key, value in PINNED.items() if value not in r[key]}
        if missing:
            raise TfnasInputError(
                f"the one-shot supernet builds {PINNED}, but the space's ranges are {missing}: add those values to "
                "the ranges, or search this space trial by trial (oracle='evolution' or 'bayesian')."
            )
        pins = {key: (value,) for key, value in PINNED.items() if r[key] != (value,)}  # only where a range has more
        stems = r["stem_strides"] if _has_stem_strides(space) else (None,)
        found = []
        for stem_stride in stems:
            for stride in r["strides"]:
                frame = {"stem_strides": (stem_stride,)} if stem_stride is not None else {}
                found.append(({**frame, "strides": (stride,), **pins}, _area(space, stem_stride, stride), stem_stride or 0))
        return [frame for frame, area, s in sorted(found, key=lambda f: (-f[1], -f[2]))]


def stem(space: MobileNetSpace, stride: int | None) -> tuple[Shape, Shape]:
    """The stem conv's kernel and applied stride: 3x3 at `stride` (clamped), or `DSCNN2DSpace`'s `stem_geometry`."""
    h, w = input_shape_of(space)[:2]
    if not _has_stem_strides(space):
        return stem_geometry(h, w)
    assert stride is not None  # a space with stem strides is always read with one
    return (3, 3), (clamp_stride(stride, h), clamp_stride(stride, w))


def head_shapes(space: MobileNetSpace) -> tuple[Shape, ...]:
    """Every (height, width) the map can have at the head, over all sub-networks (sorted).

    Only a stage's first block strides, so the shape after a stage depends
    on the stride choices alone, not on how many blocks it has.
    """
    r = space.ranges
    strides = r["stem_strides"] if _has_stem_strides(space) else (None,)
    shapes = {_strided(input_shape_of(space)[:2], stem(space, s)[1]) for s in strides}
    reachable: set[Shape] = set()
    for i in range(1, max(r["num_stages"]) + 1):
        shapes = {_strided((h, w), (clamp_stride(s, h), clamp_stride(s, w))) for h, w in shapes for s in r["strides"]}
        if i in r["num_stages"]:
            reachable |= shapes
    return tuple(sorted(reachable))


def _has_stem_strides(space: MobileNetSpace) -> bool:
    """Whether the space registers `stem_strides` (`DSCNN2DSpace` sizes its stem to the input instead)."""
    return not isinstance(space, DSCNN2DSpace)


def _strided(shape: tuple[int, ...], stride: Shape) -> Shape:
    """Height and width after a "same"-padded op at `stride`."""
    return same_out(shape[0], stride[0]), same_out(shape[1], stride[1])


def _area(space: MobileNetSpace, stem_stride: int | None, stride: int) -> int:
    """The summed area of the stem's and every block's output map in the deepest sub-network of a frame."""
    r = space.ranges
    shape = _strided(input_shape_of(space)[:2], stem(space, stem_stride)[1])
    total = shape[0] * shape[1]
    for _ in range(max(r["num_stages"])):
        for b in range(max(r["blocks"])):
            s = stride if b == 0 else 1
            shape = _strided(shape, (clamp_stride(s, shape[0]), clamp_stride(s, shape[1])))
            total += shape[0] * shape[1]
    return total
