"""Weight clustering (weight sharing) of a tf_keras model with TF-MOT.

Each clustered layer's kernel ends up with at most `number_of_clusters`
distinct values, which gzip (and a microcontroller's flash compression)
exploits. Layers TF-MOT cannot cluster, and layers kept as they are (by
default the first and last weighted layers), are listed with the reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from tfnas import _compat
from tfnas import _tfmot_compat
from tfnas.errors import TfnasInputError

# Layers TF-MOT's registry accepts but leaves unclustered ("big unrecoverable accuracy loss").
UNCLUSTERED = ("DepthwiseConv2D",)


@dataclasses.dataclass
class ClusterPlan:
    """Which layers are clustered.

    Attributes:
        layers: names of the layers clustered.
        skipped: layer name -> why it is not clustered.
        number_of_clusters: distinct values per clustered kernel.
        preserve_sparsity: keep pruned zeros at zero (sparsity-preserving clustering).
    """

    layers: list[str]
    skipped: dict[str, str]
    number_of_clusters: int
    preserve_sparsity: bool = False


def plan_clustering(
    model: Any, number_of_clusters: int, *, keep: Sequence[str] | None = None, preserve_sparsity: bool = False
) -> ClusterPlan:
    """Decides which layers of a tf_keras model are clustered.

    Args:
        model: A tf_keras model.
        number_of_clusters: Distinct values per kernel, at least 2.
        keep: Layer names left as they are; defaults to the first and last weighted layers.
        preserve_sparsity: Keep zeros at zero (use after pruning).

    Returns:
        A `ClusterPlan`.

    Raises:
        TfnasInputError: `number_of_clusters` is not an integer >= 2.
    """
    check_clusters(number_of_clusters)
    registry = _tfmot_compat.clustering_registry()
    weighted = [layer.name for layer in model.layers if any("kernel" in w.name for w in layer.weights)]
    kept = set(weighted[:1] + weighted[-1:]) if keep is None else set(keep)
    layers, skipped = [], {}
    for layer in model.layers:
        if layer.name not in weighted:
            continue
        if layer.name in kept:
            skipped[layer.name] = "kept as is (first or last weighted layer, or listed in keep)"
        elif not registry.supports(layer) or type(layer).__name__ in UNCLUSTERED:
            skipped[layer.name] = f"TF-MOT does not cluster {type(layer).__name__} weights"
        elif min(w.shape.num_elements() for w in layer.weights if "kernel" in w.name) <= number_of_clusters:
            skipped[layer.name] = f"its kernel has no more weights than {number_of_clusters} clusters"
        else:
            layers.append(layer.name)
    return ClusterPlan(layers, skipped, number_of_clusters, preserve_sparsity)


def check_clusters(number_of_clusters: Any) -> None:
    """Raises a clear error unless `number_of_clusters` is an integer >= 2."""
    if isinstance(number_of_clusters, bool) or not isinstance(number_of_clusters, int) or number_of_clusters < 2:
        raise TfnasInputError(f"cluster must be a number of clusters >= 2, e.g. 16. Received: cluster={number_of_clusters!r}")


def apply_clustering(model: Any, plan: ClusterPlan) -> Any:
    """Wraps the planned layers with `cluster_weights` (k-means++ centroids); shares the other layers."""
    tfmot = _compat.tfmot()

    clustering = tfmot.clustering.keras

    def wrap(layer: Any) -> Any:
        if layer.name not in plan.layers:
            return layer
        return clustering.cluster_weights(
            layer,
            number_of_clusters=plan.number_of_clusters,
            cluster_centroids_init=clustering.CentroidInitialization.KMEANS_PLUS_PLUS,
            preserve_sparsity=plan.preserve_sparsity,
        )

    return _compat.tf_keras().models.clone_model(model, clone_function=wrap)


def strip(model: Any) -> Any:
    """Removes the clustering wrappers, keeping the shared values (`strip_clustering`)."""
    tfmot = _compat.tfmot()

    return tfmot.clustering.keras.strip_clustering(model)
