"""Channel pruning: removes whole filters, so the model itself gets smaller (MACs, bytes, arena).

TFLite Micro runs no sparse kernels, so the zeros of weight pruning change
neither the work per inference nor the file it runs; removing filters does.
The plan follows the graph: a tensor's channels belong to a *group* (the
filters of the layer that made them); layers that keep channels (BN,
activations, pooling, depthwise convs, Dropout) pass the group on; an `Add`
(or another element-wise merge) joins the groups of its inputs, so they are
pruned together; a `Concatenate` lays its inputs' groups side by side; a
`Flatten` repeats its input's channels once per position, and the Dense
after it loses the matching rows. Layers the plan does not know pin the
channels they read. The first and last weighted layers keep their filters by
default, like weight pruning's `keep`.

The result is a new Keras 3 model of ordinary layers with the surviving
weights copied in; it is fine-tuned and exported like any other.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import numpy as np

from tfnas import _compat
from tfnas.compress.graph import layer_name
from tfnas.compress.graph import rebuild
from tfnas.errors import TfnasInputError

PRODUCERS = ("Conv1D", "Conv2D", "Dense", "SeparableConv1D", "SeparableConv2D")
CHANNELWISE = (
    "BatchNormalization", "ReLU", "Activation", "LeakyReLU", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
    "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "ZeroPadding1D", "ZeroPadding2D",
    "DepthwiseConv1D", "DepthwiseConv2D",
)
MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")
CRITERIA = ("l1", "l2", "bn")

Segment = tuple  # (group id, or in a plan a producer's name; None for channels that stay), number of channels


@dataclasses.dataclass
class Layout:
    """The channels of one tensor: segments of groups, repeated `positions` times when flattened."""

    segments: list[Segment]
    positions: int = 0  # > 0: a Flatten output, channel-last order (position-major)


@dataclasses.dataclass
class ChannelPlan:
    """Which filters survive, per layer, and why other layers kept all of theirs.

    Attributes:
        keep: producer layer name -> sorted indices of the filters it keeps.
        sizes: producer layer name -> its number of filters before pruning.
        skipped: layer name -> why its filters all stay.
        inputs: layer name -> the layout of its input, each segment named by
            a producer of its group (None: channels that stay), so the
            weights reading it can be cut to match.
    """

    keep: dict[str, list[int]]
    sizes: dict[str, int]
    skipped: dict[str, str]
    inputs: dict[str, Layout] = dataclasses.field(default_factory=dict)

    @property
    def removed(self) -> int:
        """Filters removed over all layers."""
        return sum(self.sizes[name] - len(kept) for name, kept in self.keep.items())


class _Groups:
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


def plan_channels(
    model: Any,
    ratio: float | Mapping[str, float],
    keep: Sequence[str] | None = None,
    criterion: str = "l1",
) -> ChannelPlan:
    """Chooses the filters to remove: `ratio` of every prunable group, the weakest by `criterion`.

    Args:
        model: A Keras 3 functional or Sequential model.
        ratio: The share of filters to remove in (0, 1), or `{layer name: share}`.
        keep: Layer names whose filters all stay; defaults to the first and last weighted layers.
        criterion: "l1" or "l2" norm of each filter (summed over the layers
            of a joined group), or "bn": |gamma| of the BatchNormalization
            layers after it.

    Raises:
        TfnasInputError: a bad ratio or criterion, or layer names the model does not have.
    """
    _check(model, ratio, keep, criterion)
    graph = _trace(model, _kept_layers(model, keep))
    groups = graph.groups
    keep_idx: dict[str, list[int]] = {}
    sizes: dict[str, int] = {}
    for gid in {groups.root(g) for g in groups.parent}:
        members = groups.members[gid]
        share = ratio if not isinstance(ratio, Mapping) else max(float(ratio.get(name, 0.0)) for name in members)
        size = groups.size[gid]
        count = size if groups.is_pinned(gid) else max(1, size - math.floor(share * size))
        scores = _scores(model, groups, gid, criterion)
        kept = sorted(int(i) for i in np.argsort(-scores, kind="stable")[:count])
        for name in members:
            keep_idx[name], sizes[name] = kept, size
    for layer in model.layers:  # the kept ones keep every filter
        if type(layer).__name__ in PRODUCERS and layer.name not in keep_idx:
            width = int(getattr(layer, "filters", None) or layer.units)
            keep_idx[layer.name], sizes[layer.name] = list(range(width)), width
    named = {
        layer: Layout([(None if g is None else groups.members[groups.root(g)][0], n) for g, n in layout.segments], layout.positions)
        for layer, layout in graph.inputs.items()
    }
    return ChannelPlan(keep_idx, sizes, graph.skipped, named)


def prune_channels(model: Any, plan: ChannelPlan) -> Any:
    """A new Keras 3 model with the plan's filters removed and the surviving weights copied in (compiled like `model`)."""
    import keras

    width = {name: len(kept) for name, kept in plan.keep.items()}

    def make_layer(config: dict[str, Any]) -> Any:
        config = {key: config[key] for key in ("module", "class_name", "config", "registered_name")}
        name = layer_name(config)
        if name in width and width[name] != plan.sizes[name]:
            config = {**config, "config": {**config["config"], _width_key(config["class_name"]): width[name]}}
        return keras.layers.deserialize(config)

    pruned = rebuild(model, keras, make_layer)
    for layer in pruned.layers:
        source = model.get_layer(layer.name)
        if source.weights:
            layer.set_weights(_sliced(source, plan.inputs.get(layer.name), plan))
    if getattr(model, "optimizer", None) is not None and model.compiled:
        pruned.compile_from_config(model.get_compile_config())
    return pruned


@dataclasses.dataclass
class _Graph:
    groups: _Groups
    inputs: dict[str, Layout]  # layer name -> the layout of its (first) input
    skipped: dict[str, str]


def _trace(model: Any, kept: set[str]) -> _Graph:
    """Walks the layers in order and gives every tensor a channel layout (see the module docstring)."""
    groups, layouts, inputs, skipped = _Groups(), {}, {}, {}
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
    return _Graph(groups, inputs, skipped)


def _merged(groups: _Groups, sources: list[Layout]) -> Layout:
    """An element-wise merge: its inputs' channels are one group (pinned if any input is)."""
    ids = [s.segments[0][0] for s in sources]
    if any(gid is None for gid in ids):
        for source in sources:
            groups.pin(source)
        return Layout([(None, sources[0].segments[0][1])])
    for gid in ids[1:]:
        groups.join(ids[0], gid)
    return Layout([(groups.root(ids[0]), sources[0].segments[0][1])])


def _scores(model: Any, groups: _Groups, gid: int, criterion: str) -> np.ndarray:
    """One score per channel of a group: higher stays."""
    if criterion == "bn" and groups.norms[gid]:
        return sum(np.abs(model.get_layer(name).gamma.numpy()) for name in groups.norms[gid])
    total = np.zeros(groups.size[gid])
    for name in groups.members[gid]:
        layer = model.get_layer(name)
        kernel = (layer.pointwise_kernel if hasattr(layer, "pointwise_kernel") else layer.kernel).numpy()
        flat = kernel.reshape(-1, kernel.shape[-1])
        total += np.abs(flat).sum(axis=0) if criterion != "l2" else np.sqrt((flat**2).sum(axis=0))
    return total


def _sliced(source: Any, layout: Layout | None, plan: ChannelPlan) -> list[np.ndarray]:
    """The source layer's weights with removed input channels and removed filters cut out.

    Kernels hold input channels on their second-to-last axis and filters on
    the last (a separable conv's depthwise kernel holds only input channels);
    biases and BN vectors hold channels on their only axis.
    """
    weights = source.get_weights()
    kind = type(source).__name__
    inputs = _surviving(layout, plan)
    out = plan.keep.get(source.name) if kind in PRODUCERS else None
    if out is not None and len(out) == plan.sizes[source.name]:
        out = None
    sliced = []
    for i, w in enumerate(weights):
        depthwise = kind.startswith("DepthwiseConv") or (kind.startswith("Separable") and i == 0)
        if w.ndim >= 2:
            if inputs is not None:
                w = np.take(w, inputs, axis=w.ndim - 2)
            if out is not None and not depthwise:
                w = np.take(w, out, axis=w.ndim - 1)
        elif kind in PRODUCERS:
            w = w if out is None else np.take(w, out, axis=0)  # bias of the filters
        elif inputs is not None:
            w = np.take(w, inputs, axis=0)  # a channel-wise layer's vectors: depthwise bias, BN
        sliced.append(w)
    return sliced


def _surviving(layout: Layout | None, plan: ChannelPlan) -> np.ndarray | None:
    """Indices of the channels of `layout` that survive the plan; None when all do."""
    if layout is None:
        return None
    parts, offset, cut = [], 0, False
    for producer, size in layout.segments:
        kept = np.arange(size) if producer is None else np.asarray(plan.keep[producer])
        cut = cut or len(kept) < size
        parts.append(kept + offset)
        offset += size
    if not cut:
        return None
    channels = np.concatenate(parts)
    if not layout.positions:
        return channels
    return np.concatenate([p * offset + channels for p in range(layout.positions)])


def _width_key(class_name: str) -> str:
    return "units" if class_name == "Dense" else "filters"


def _kept_layers(model: Any, keep: Sequence[str] | None) -> set[str]:
    if keep is not None:
        return set(keep)
    weighted = [layer.name for layer in model.layers if type(layer).__name__ in PRODUCERS]
    return {weighted[0], weighted[-1]} if weighted else set()


def _check(model: Any, ratio: Any, keep: Any, criterion: str) -> None:
    shares = ratio.values() if isinstance(ratio, Mapping) else [ratio]
    for share in shares:
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0.0 < share < 1.0:
            raise TfnasInputError(f"channels must be a share of filters to remove in (0, 1), or {{layer: share}}. Received: {ratio!r}")
    if criterion not in CRITERIA:
        raise TfnasInputError(f"channel_criterion={criterion!r} must be one of {CRITERIA}.")
    names = {layer.name for layer in model.layers}
    unknown = sorted((set(keep or []) | set(ratio if isinstance(ratio, Mapping) else [])) - names)
    if unknown:
        raise TfnasInputError(f"Layers {unknown} are not in model {model.name!r}: name layers of {sorted(names)}.")


MAX_SHARE = 0.95  # compress-to-budget never removes more of a layer's filters than this


def share_for_target(model: Any, target: Any, keep: Sequence[str] | None = None, criterion: str = "l1") -> float:
    """The smallest share of filters (uniform over the prunable layers) whose pruned model meets `target` by the cost model.

    Bisection on the share: the cost model prices each pruned candidate
    exactly as the search does (`tfnas.cost.profile`), so the returned share
    meets every limit of `target` by that model. 0.0 when `model` already does.

    Args:
        model: A Keras 3 model.
        target: A `Constraints` (or dict such as `{"max_macs": 8000}`).
        keep, criterion: See `plan_channels`.

    Raises:
        TfnasInputError: even `MAX_SHARE` of every prunable layer's filters does not meet it.
    """
    from tfnas.cost import profile

    def violations(share: float) -> list[str]:
        pruned = model if share == 0.0 else prune_channels(model, plan_channels(model, share, keep, criterion))
        return target.violations(profile(pruned).to_dict())

    if not violations(0.0):
        return 0.0
    if violations(MAX_SHARE):
        raise TfnasInputError(
            f"Channel pruning cannot meet target {target.to_dict()}: with {MAX_SHARE:.0%} of the filters of every prunable "
            f"layer removed it still has {'; '.join(violations(MAX_SHARE))}. Relax the target, pass keep=[] to prune the "
            "first and last layers too, or search a smaller model."
        )
    low, high = 0.0, MAX_SHARE
    for _ in range(12):
        middle = (low + high) / 2
        low, high = (low, middle) if not violations(middle) else (middle, high)
    return high
