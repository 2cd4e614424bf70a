"""Channel pruning: removes whole filters, so the model itself gets smaller (MACs, bytes, arena).

TFLite Micro runs no sparse kernels, so the zeros of weight pruning change
neither the work per inference nor the file it runs; removing filters does.
`plan_channels` ranks the filters of every group that `channel_graph` finds
(filters joined by an Add go together, a Dense after a Flatten loses the
matching rows, unknown layers pin what they read) and keeps the strongest;
the first and last weighted layers keep their filters by default, like
weight pruning's `keep`. `prune_channels` then builds a new Keras 3 model of
ordinary layers with the surviving weights copied in; it is fine-tuned and
exported like any other. `channel_budget` finds the shares for a cost target.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import numpy as np

from tfnas.compress.channel_graph import PRODUCERS
from tfnas.compress.channel_graph import Groups
from tfnas.compress.channel_graph import Layout
from tfnas.compress.channel_graph import kept_layers
from tfnas.compress.channel_graph import trace
from tfnas.compress.graph import layer_name
from tfnas.compress.graph import rebuild
from tfnas.errors import TfnasInputError

CRITERIA = ("l1", "l2", "bn", "taylor")


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



def plan_channels(
    model: Any,
    ratio: float | Mapping[str, float],
    keep: Sequence[str] | None = None,
    criterion: str = "l1",
    data: tuple[Any, Any] | None = None,
) -> ChannelPlan:
    """Chooses the filters to remove: `ratio` of every prunable group, the weakest by `criterion`.

    Args:
        model: A Keras 3 functional or Sequential model.
        ratio: The share of filters to remove in (0, 1), or `{layer name: share}`
            (a group takes the largest share named for its layers; unnamed groups stay whole).
        keep: Layer names whose filters all stay; defaults to the first and last weighted layers.
        criterion: One of `CRITERIA`: "l1" or "l2" norm of each filter (summed
            over the layers of a joined group); "bn": |gamma| of the
            BatchNormalization layers after it; "taylor": the first-order
            Taylor estimate of the loss change on `data` (`taylor_scores`).
        data: `(x, y)` samples for the "taylor" criterion.

    Raises:
        TfnasInputError: a bad ratio or criterion, "taylor" without data, or layer names the model does not have.
    """
    _check(model, ratio, keep, criterion, data)
    graph = trace(model, kept_layers(model, keep))
    groups = graph.groups
    taylor = taylor_scores(model, graph.groups, *data) if criterion == "taylor" and data is not None else {}
    keep_idx: dict[str, list[int]] = {}
    sizes: dict[str, int] = {}
    for gid in {groups.root(g) for g in groups.parent}:
        members = groups.members[gid]
        share = ratio if not isinstance(ratio, Mapping) else max(float(ratio.get(name, 0.0)) for name in members)
        size = groups.size[gid]
        count = size if groups.is_pinned(gid) else max(1, size - math.floor(share * size))
        scores = taylor[gid] if criterion == "taylor" else _scores(model, groups, gid, criterion)
        kept = sorted(int(i) for i in np.argsort(-scores, kind="stable")[:count])
        for name in members:
            keep_idx[name], sizes[name] = kept, size
    for layer in model.layers:  # the kept ones keep every filter
        if type(layer).__name__ in PRODUCERS and layer.name not in keep_idx:
            width = int(getattr(layer, "filters", None) or layer.units)
            keep_idx[layer.name], sizes[layer.name] = list(range(width)), width
    named = {
        layer: Layout([(None if g is None else groups.members[groups.root(g)][0], n) for g, n in layout.segments],
                      layout.positions)
        for layer, layout in graph.inputs.items()
    }
    return ChannelPlan(keep_idx, sizes, graph.skipped, named)


def prunable_groups(model: Any, keep: Sequence[str] | None = None) -> list[list[str]]:
    """The producer layers of each group channel pruning may cut, one list per group (in layer order)."""
    groups = trace(model, kept_layers(model, keep)).groups
    roots = sorted({groups.root(g) for g in groups.parent if not groups.is_pinned(g)})
    return [list(groups.members[root]) for root in roots]


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


def _scores(model: Any, groups: Groups, gid: int, criterion: str) -> np.ndarray:
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


def taylor_scores(model: Any, groups: Groups, x: Any, y: Any, batch_size: int = 64) -> dict[int, np.ndarray]:
    """First-order Taylor importance of every channel of every group (Molchanov et al., CVPR 2019).

    Removing a channel changes the loss by about the sum, over the weights
    that make it (its filters' kernel and bias in every producer of the group
    and the BatchNormalization gamma and beta after them), of gradient x
    weight; the score is that sum squared, added up over mini-batches of
    `(x, y)`. Unlike a norm, it sees what the data needs.

    Returns:
        group id (a root) -> one score per channel.
    """
    import keras
    import tensorflow as tf

    from tfnas.compress.distill import ends_in_softmax

    y = np.asarray(y)
    if y.dtype.kind in "biu":
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=not ends_in_softmax(model))
    else:
        loss_fn = keras.losses.MeanSquaredError()
    roots = sorted({groups.root(g) for g in groups.parent})
    parts = {
        gid: [(model.get_layer(n), True) for n in groups.members[gid]] + [(model.get_layer(n), False) for n in groups.norms[gid]]
        for gid in roots
    }
    variables = [v for gid in roots for layer, producer in parts[gid] for v in _channel_variables(layer, producer)]
    totals = {gid: np.zeros(groups.size[gid]) for gid in roots}
    for i in range(0, len(x), batch_size):
        with tf.GradientTape() as tape:
            loss = loss_fn(y[i : i + batch_size], model(np.asarray(x[i : i + batch_size], np.float32), training=False))
        grads = dict(zip((id(v) for v in variables), tape.gradient(loss, variables), strict=True))
        for gid in roots:
            contribution = np.zeros(groups.size[gid])
            for layer, producer in parts[gid]:
                for v in _channel_variables(layer, producer):
                    g = grads[id(v)]
                    if g is not None:
                        product = (np.asarray(g) * np.asarray(v)).reshape(-1, v.shape[-1])
                        contribution += product.sum(axis=0)
            totals[gid] += contribution**2
    return totals


def _channel_variables(layer: Any, producer: bool) -> list[Any]:
    """The variables whose last axis is a group's channel: a producer's filters and bias, a BN's gamma and beta."""
    if not producer:
        return [v for v in (getattr(layer, "gamma", None), getattr(layer, "beta", None)) if v is not None]
    kernel = layer.pointwise_kernel if hasattr(layer, "pointwise_kernel") else layer.kernel
    bias = getattr(layer, "bias", None)
    return [kernel] + ([bias] if bias is not None else [])


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


def _check(model: Any, ratio: Any, keep: Any, criterion: str, data: Any) -> None:
    shares = ratio.values() if isinstance(ratio, Mapping) else [ratio]
    for share in shares:
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0.0 < share < 1.0:
            raise TfnasInputError(
                f"channels must be a share of filters to remove in (0, 1), or {{layer: share}}. Received: {ratio!r}"
            )
    if criterion not in CRITERIA:
        raise TfnasInputError(f"channel_criterion={criterion!r} must be one of {CRITERIA}.")
    if criterion == "taylor" and data is None:
        raise TfnasInputError("channel_criterion='taylor' ranks filters by their effect on the loss: pass data=(x, y).")
    names = {layer.name for layer in model.layers}
    unknown = sorted((set(keep or []) | set(ratio if isinstance(ratio, Mapping) else [])) - names)
    if unknown:
        raise TfnasInputError(f"Layers {unknown} are not in model {model.name!r}: name layers of {sorted(names)}.")
