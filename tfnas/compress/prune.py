"""Magnitude pruning of a tf_keras model with TF-MOT, layer by layer.

Which layers are pruned is decided here, in plain data (`PrunePlan`), before
TF-MOT wraps anything: the first and last weighted layers stay dense by
default (they hold few weights and much of the accuracy), and a layer TF-MOT
cannot prune (DepthwiseConv2D/1D, and for 2:4 sparsity any kernel that is
not rank 2 or 4 or whose input channels are not a multiple of 4) is listed
with the reason instead of failing the whole model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from tfnas import _compat
from tfnas.errors import TfnasInputError

# Layers whose kernel TF-MOT's PruneRegistry prunes (tf_keras class names).
PRUNABLE = {"Conv1D": "kernel", "Conv2D": "kernel", "Dense": "kernel", "SeparableConv1D": "pointwise_kernel",
            "SeparableConv2D": "pointwise_kernel", "Conv2DTranspose": "kernel"}
STRUCTURES = ("2:4", "1:2", "4:8")


@dataclasses.dataclass
class PrunePlan:
    """What pruning does to each weighted layer.

    Attributes:
        sparsity: layer name -> target sparsity of its kernel (the layers pruned).
        skipped: layer name -> why it is not pruned.
        structure: `(m, n)`: m zeros in every n consecutive weights, or None.
    """

    sparsity: dict[str, float]
    skipped: dict[str, str]
    structure: tuple[int, int] | None = None


def plan_pruning(
    model: Any,
    sparsity: float | Mapping[str, float] | None,
    *,
    structure: str | None = None,
    keep: Sequence[str] | None = None,
) -> PrunePlan:
    """Decides which layers of `model` are pruned and to what sparsity.

    Args:
        model: A tf_keras (or Keras 3) model.
        sparsity: One target sparsity in (0, 1) for every prunable layer, or
            `{layer_name: sparsity}` to prune only those layers.
        structure: `"2:4"` (also `"1:2"`, `"4:8"`) for m:n structured pruning;
            its sparsity is m/n and `sparsity` may be None.
        keep: Layer names kept dense. Defaults to the first and last weighted
            layers when `sparsity` is one number; `[]` prunes them too.

    Returns:
        A `PrunePlan`.

    Raises:
        TfnasInputError: a sparsity outside (0, 1), an unknown layer name or structure.
    """
    m_by_n = parse_structure(structure)
    weighted = [layer for layer in model.layers if _kernel(layer) is not None]
    names = [layer.name for layer in weighted]
    if isinstance(sparsity, Mapping):
        unknown = sorted(set(sparsity) - set(names))
        if unknown:
            raise TfnasInputError(f"prune names layers {unknown} that the model does not have; its layers with kernels: {names}.")
        targets = {name: _check_sparsity(value, f"prune[{name!r}]") for name, value in sparsity.items()}
        kept = set(names) - set(targets)
    else:
        if sparsity is None and m_by_n is None:
            raise TfnasInputError(
                "Nothing to prune: pass prune=a sparsity in (0, 1), a {layer: sparsity} dict, or structure='2:4'."
            )
        value = m_by_n[0] / m_by_n[1] if sparsity is None and m_by_n is not None else _check_sparsity(sparsity, "prune")
        kept = set(names[:1] + names[-1:]) if keep is None else set(keep)
        targets = {name: value for name in names if name not in kept}
    skipped = {name: "kept dense (first or last weighted layer, or listed in keep)" for name in names if name in kept}
    for layer in weighted:
        if layer.name not in targets:
            continue
        reason = _cannot_prune(layer, m_by_n)
        if reason:
            skipped[layer.name] = reason
            del targets[layer.name]
    return PrunePlan(sparsity=targets, skipped=skipped, structure=m_by_n)


def apply_pruning(model: Any, plan: PrunePlan, end_step: int, frequency: int) -> Any:
    """Wraps the planned layers with `prune_low_magnitude` (PolynomialDecay from 0 to the target by `end_step`).

    Args:
        model: A tf_keras functional model.
        plan: From `plan_pruning`.
        end_step: Training step at which each layer reaches its target sparsity.
        frequency: Steps between mask updates.

    Returns:
        A tf_keras model to fine-tune with `UpdatePruningStep`; it shares its
        layers (and weights) with `model`.
    """
    tfmot = _compat.tfmot()

    tfk = _compat.tf_keras()
    sparsity = tfmot.sparsity.keras

    def wrap(layer: Any) -> Any:
        target = plan.sparsity.get(layer.name)
        if target is None:
            return layer  # shared with `model`: it is our own tf_keras copy
        if plan.structure:
            schedule = sparsity.ConstantSparsity(target, begin_step=0, frequency=frequency)
        else:
            schedule = sparsity.PolynomialDecay(0.0, target, begin_step=0, end_step=max(end_step, 1), frequency=frequency)
        return sparsity.prune_low_magnitude(layer, pruning_schedule=schedule, sparsity_m_by_n=plan.structure)

    return tfk.models.clone_model(model, clone_function=wrap)


def callbacks() -> list:
    """The Keras callbacks a pruned model must train with."""
    tfmot = _compat.tfmot()

    return [tfmot.sparsity.keras.UpdatePruningStep()]


def strip(model: Any) -> Any:
    """Removes the pruning wrappers, keeping the zeros (`strip_pruning`)."""
    tfmot = _compat.tfmot()

    return tfmot.sparsity.keras.strip_pruning(model)


def _kernel(layer: Any) -> Any:
    for weight in layer.weights:
        if "kernel" in weight.name.split("/")[-1]:
            return weight
    return None


def _cannot_prune(layer: Any, m_by_n: tuple[int, int] | None) -> str | None:
    class_name = type(layer).__name__
    if class_name not in PRUNABLE:
        return f"TF-MOT cannot prune {class_name}"
    if m_by_n:
        kernel = getattr(layer, PRUNABLE[class_name])
        rank, channels_in = len(kernel.shape), kernel.shape[-2]
        if rank not in (2, 4):
            return f"{m_by_n[0]}:{m_by_n[1]} sparsity needs a rank-2 or rank-4 kernel; {class_name} has rank {rank}"
        if channels_in % m_by_n[1]:
            return (f"{m_by_n[0]}:{m_by_n[1]} sparsity needs input channels that are a multiple of {m_by_n[1]}; "
                    f"this layer has {channels_in}")
    return None


def check_request(sparsity: float | Mapping[str, float] | None, structure: str | None) -> None:
    """Checks the sparsity values and the structure alone (before any model work); raises a clear error."""
    parse_structure(structure)
    values = sparsity.items() if isinstance(sparsity, Mapping) else [("", sparsity)] if sparsity is not None else []
    for name, value in values:
        _check_sparsity(value, f"prune[{name!r}]" if name else "prune")


def parse_structure(structure: str | None) -> tuple[int, int] | None:
    if structure is None:
        return None
    if structure not in STRUCTURES:
        raise TfnasInputError(f"structure={structure!r} is not supported: use one of {STRUCTURES} or None.")
    m, n = structure.split(":")
    return int(m), int(n)


def _check_sparsity(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise TfnasInputError(f"{name} must be a sparsity strictly between 0 and 1, e.g. 0.5. Received: sparsity={value!r}")
    return float(value)
