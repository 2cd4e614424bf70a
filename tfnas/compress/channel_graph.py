"""The channel graph of a model: which filters must be pruned together, and which may not be pruned at all.

A tensor's channels belong to a *group*: the filters of the layer that made
them. Layers that keep channels (BN, activations, pooling, depthwise convs,
Dropout) pass the group on; an `Add` (or another element-wise merge) joins
the groups of its inputs, so they are pruned together; a `Concatenate` lays
its inputs' groups side by side; a `Flatten` repeats its input's channels
once per position. Layers the trace does not know *pin* the channels they
read, and so do the model's outputs. `channels.plan_channels` chooses
filters per group; this module only finds the groups.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from tfnas import _compat

PRODUCERS = ("Conv1D", "Conv2D", "Dense", "SeparableConv1D", "SeparableConv2D")
CHANNELWISE = (
    "BatchNormalization", "ReLU", "Activation", "LeakyReLU", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
    "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "ZeroPadding1D", "ZeroPadding2D",
    "DepthwiseConv1D", "DepthwiseConv2D",
)
MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")

Segment = tuple  # (group id, or in a plan a producer's name; None for channels that stay), number of channels


@dataclasses.dataclass
@dataclasses.dataclass
class Layout:
    """The channels of one tensor: segments of groups, repeated `positions` times when flattened."""

    segments: list[Segment]
    positions: int = 0  # > 0: a Flatten output, channel-last order (position-major)



class Groups:
    """Union-find over channel groups, with the producers that define each and whether it is pinned."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.size: dict[int, int] = {}
        self.members: dict[int, list[str]] = {}
        self.norms: dict[int, list[str]] = {}  # BN layers reading the group (for the "bn" criterion)
        self.pinned: set[int] = set()

    def new(self, size: int, producer: str) -> int:
        gid = len(self.parent)
        self.parent[gid], self.size[gid], self.members[gid], self.norms[gid] = gid, size, [producer], []
        return gid

    def root(self, gid: int) -> int:
        while self.parent[gid] != gid:
            gid = self.parent[gid]
        return gid

    def join(self, a: int, b: int) -> None:
        a, b = self.root(a), self.root(b)
        if a != b:
            self.parent[b] = a
            self.members[a] += self.members[b]
            self.norms[a] += self.norms[b]
            if b in self.pinned:
                self.pinned.add(a)

    def pin(self, layout: Layout) -> None:
        for gid, _ in layout.segments:
            if gid is not None:
                self.pinned.add(self.root(gid))

    def is_pinned(self, gid: int) -> bool:
        return self.root(gid) in self.pinned


@dataclasses.dataclass
class ChannelGraph:
    """The groups of a traced model, the channel layout each layer reads, and the layers left whole (with why)."""

    groups: Groups
    inputs: dict[str, Layout]  # layer name -> the layout of its (first) input
    skipped: dict[str, str]



def trace(model: Any, kept: set[str]) -> ChannelGraph:
    """Walks the layers in order and gives every tensor a channel layout (see the module docstring)."""
    groups = Groups()
    layouts: dict[str, Layout] = {}  # layer name -> the layout of its output
    inputs: dict[str, Layout] = {}
    skipped: dict[str, str] = {}
    for layer in model.layers:
        kind = type(layer).__name__
        sources = [layouts[name] for name in _compat.source_layers(layer)]
        if kind == "InputLayer" or not sources:
            layouts[layer.name] = Layout([(None, int(layer.output.shape[-1]))])
            continue
        inputs[layer.name] = sources[0]
        if kind in PRODUCERS:
            width = int(getattr(layer, "filters", None) or layer.units)
            if layer.name in kept:
                skipped[layer.name] = "kept (first or last weighted layer, or listed in keep)"
                layouts[layer.name] = Layout([(None, width)])
            else:
                layouts[layer.name] = Layout([(groups.new(width, layer.name), width)])
        elif kind in CHANNELWISE and getattr(layer, "depth_multiplier", 1) == 1:
            layouts[layer.name] = sources[0]
            if kind == "BatchNormalization":
                for gid, _ in sources[0].segments:
                    if gid is not None:
                        groups.norms[groups.root(gid)].append(layer.name)
        elif kind == "Flatten" and not sources[0].positions:
            shape = layer.input.shape[1:-1]
            layouts[layer.name] = Layout(sources[0].segments, int(np.prod(shape)) if shape else 1)
        elif kind in MERGES and all(len(s.segments) == 1 and not s.positions for s in sources):
            layouts[layer.name] = _merged(groups, sources)
        elif kind == "Concatenate" and layer.axis in (-1, len(layer.output.shape) - 1) and not any(s.positions for s in sources):
            layouts[layer.name] = Layout([segment for s in sources for segment in s.segments])
        else:
            for source in sources:
                groups.pin(source)
            skipped[layer.name] = f"{kind}: channel pruning does not look through it, so the channels it reads stay"
            layouts[layer.name] = Layout([(None, int(layer.output.shape[-1]))])
    for output in model.outputs:
        groups.pin(layouts[_compat.inbound_node(output).operation.name])
    return ChannelGraph(groups, inputs, skipped)


def _merged(groups: Groups, sources: list[Layout]) -> Layout:
    """An element-wise merge: its inputs' channels are one group (pinned if any input is)."""
    ids = [s.segments[0][0] for s in sources]
    if any(gid is None for gid in ids):
        for source in sources:
            groups.pin(source)
        return Layout([(None, sources[0].segments[0][1])])
    for gid in ids[1:]:
        groups.join(ids[0], gid)
    return Layout([(groups.root(ids[0]), sources[0].segments[0][1])])



def kept_layers(model: Any, keep: Sequence[str] | None) -> set[str]:
    """The layers whose filters all stay: `keep`, or by default the first and last weighted layers."""
    if keep is not None:
        return set(keep)
    weighted = [layer.name for layer in model.layers if type(layer).__name__ in PRODUCERS]
    return {weighted[0], weighted[-1]} if weighted else set()
