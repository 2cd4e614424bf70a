"""Quantization-aware training (QAT) with TF-MOT, preserving earlier pruning or clustering.

Plain QAT after pruning re-learns the zeros away, so the scheme follows the
stages before it: pruning -> prune-preserving QAT (PQAT), clustering ->
cluster-preserving QAT (CQAT, sparsity-preserving too after pruning). Layers
the scheme cannot quantize stay float in the QAT model; the converter then
quantizes them post-training from the representative data.
"""

from __future__ import annotations

from typing import Any

from tfnas import _compat

SCHEMES = ("default", "prune", "cluster", "cluster+prune")


def scheme_for(pruned: bool, clustered: bool) -> str:
    """The QAT scheme that keeps what the earlier stages made."""
    if clustered:
        return "cluster+prune" if pruned else "cluster"
    return "prune" if pruned else "default"


def apply_qat(model: Any, scheme: str = "default", frozen: set[str] | frozenset[str] = frozenset()) -> tuple[Any, dict[str, str]]:
    """Annotates every layer the scheme supports and applies QAT.

    Args:
        model: A tf_keras model (pruning and clustering wrappers stripped).
        scheme: One of `SCHEMES`.
        frozen: Layers (the pruned or clustered ones) to freeze if the scheme
            cannot quantize them: only quantized layers get the scheme's
            zero- or cluster-preserving training, so training the others would
            undo the earlier stage.

    Returns:
        The QAT model to fine-tune, and `{layer name: why it stays float}`
        for the weighted layers the scheme does not quantize.
    """
    tfmot = _compat.tfmot()

    quantization = tfmot.quantization.keras
    combine = tfmot.experimental.combine
    quant_scheme = {
        "default": quantization.default_8bit.Default8BitQuantizeScheme,
        "prune": combine.Default8BitPrunePreserveQuantizeScheme,
        "cluster": lambda: combine.Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=False),
        "cluster+prune": lambda: combine.Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=True),
    }[scheme]()
    registry = quant_scheme.get_quantize_registry()
    foldable = _batchnorms_after_2d_convs(model)
    floating = {}

    def annotate(layer: Any) -> Any:
        # BatchNormalization is not in the registry: the scheme's layout transforms fold it into a Conv2D or
        # DepthwiseConv2D before it (1-D convs come here built as those: `to_tf_keras(..., as_2d=True)`).
        # After any other layer it stays float and folds at conversion.
        if registry.supports(layer) or layer.name in foldable:
            return quantization.quantize_annotate_layer(layer)
        if layer.weights and type(layer).__name__ != "BatchNormalization":
            floating[layer.name] = f"the {scheme} QAT scheme cannot quantize {type(layer).__name__}: quantized after training"
            if layer.name in frozen:
                layer.trainable = False
                floating[layer.name] += ", frozen during QAT to keep what the earlier stage made"
        return layer

    annotated = _compat.tf_keras().models.clone_model(model, clone_function=annotate)
    with quantization.quantize_scope():
        return quantization.quantize_apply(annotated, quant_scheme), floating


def _batchnorms_after_2d_convs(model: Any) -> set[str]:
    """Names of the BatchNormalization layers whose input comes straight from a Conv2D or DepthwiseConv2D."""
    layers = {layer["config"]["name"]: layer for layer in model.get_config()["layers"]}
    found = set()
    for name, layer in layers.items():
        if layer["class_name"] != "BatchNormalization" or len(layer["inbound_nodes"]) != 1:
            continue
        (node,) = layer["inbound_nodes"]
        sources = [entry[0] for entry in node] if isinstance(node, list) else []
        if len(sources) == 1 and layers.get(sources[0], {}).get("class_name") in ("Conv2D", "DepthwiseConv2D"):
            found.add(name)
    return found
