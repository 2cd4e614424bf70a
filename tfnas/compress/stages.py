"""The stages that constrain the weights of a model: `Prune`, `Cluster`, `Distill` and `QAT`.

Each is a thin adapter from the `Stage` contract to its own module (`prune`,
`cluster`, `distill`, `quantize`), which holds the plan and the TF-MOT
calls; each checks its own arguments in its constructor. They take and
return tf_keras models (TF-MOT's); `architecture_stages` holds the stages
that build a new architecture, and `plan` the one order they all run in.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from tfnas.compress import cluster as cluster_lib
from tfnas.compress import distill as distill_lib
from tfnas.compress import prune as prune_lib
from tfnas.compress import quantize as quantize_lib
from tfnas.compress.as_2d import has_1d_layers
from tfnas.compress.bridge import to_keras3
from tfnas.compress.bridge import to_tf_keras
from tfnas.compress.measure import kernel_sparsity
from tfnas.compress.runner import BRIDGE_SAMPLES
from tfnas.compress.stage import Stage
from tfnas.compress.stage import StageContext
from tfnas.errors import TfnasInputError
from tfnas.task import Task


class Prune(Stage):
    """Magnitude pruning (PolynomialDecay over the first 70% of the steps) or m:n structured pruning.

    Example: `tfnas.compress(model, x, y, stages=[Prune(0.5), QAT()])`.

    Args:
        sparsity: A target sparsity in (0, 1), `{layer name: sparsity}`, or None with `structure`.
        structure: `"2:4"`, `"1:2"`, `"4:8"` or None.
        keep: Layer names kept dense; defaults to the first and last weighted layers.
    """

    name = "prune"

    def __init__(
        self, sparsity: float | Mapping[str, float] | None = None, structure: str | None = None, keep: Sequence[str] | None = None
    ) -> None:
        if sparsity is None and structure is None:
            raise TfnasInputError(
                "Prune needs a sparsity in (0, 1), a {layer: sparsity} dict, or structure='2:4'. Received: sparsity=None"
            )
        prune_lib.check_request(sparsity, structure)
        self.sparsity = sparsity
        self.structure = structure
        self.keep = keep

    def get_config(self) -> dict[str, Any]:
        return {"sparsity": self.sparsity, "structure": self.structure, "keep": self.keep}

    def keywords(self) -> dict[str, Any]:
        sparsity = dict(self.sparsity) if isinstance(self.sparsity, Mapping) else self.sparsity
        return {"prune": sparsity, "structure": self.structure}

    def apply(self, model: Any, context: StageContext) -> Any:
        plan = prune_lib.plan_pruning(model, self.sparsity, structure=self.structure, keep=self.keep)
        context.skipped[self.name] = plan.skipped
        if not plan.sparsity:  # e.g. a one-hidden-layer MLP of a front: its other stages still run
            context.notes.append(
                f"prune: no layer can be pruned with these settings ({plan.skipped}), so the stage was skipped; "
                "keep=[] lets pruning reach the first and last layers too."
            )
            return None
        context.changed[self.name] = sorted(plan.sparsity)
        end_step = max(1, int(0.7 * context.fit_steps))
        return prune_lib.apply_pruning(model, plan, end_step=end_step, frequency=max(1, end_step // 10))

    def cut(self) -> float:
        """The target sparsity (the mean of a per-layer dict; m/n for m:n structure)."""
        if self.structure is not None:
            zeros, group = (int(part) for part in self.structure.split(":"))
            return zeros / group
        if isinstance(self.sparsity, Mapping):
            return sum(self.sparsity.values()) / max(len(self.sparsity), 1)
        return float(self.sparsity or 0.0)

    def callbacks(self) -> list[Any]:
        return prune_lib.callbacks()

    def strip(self, model: Any, context: StageContext) -> Any:
        return prune_lib.strip(model)


class Cluster(Stage):
    """Weight clustering, sparsity-preserving after pruning.

    Example: `tfnas.compress(model, x, y, stages=[Prune(0.5), Cluster(16), QAT()])`.

    Args:
        number_of_clusters: Distinct values per clustered kernel, at least 2.
        keep: Layer names left as they are; defaults to the first and last weighted layers.
    """

    name = "cluster"

    def __init__(self, number_of_clusters: int, keep: Sequence[str] | None = None) -> None:
        if isinstance(number_of_clusters, bool) or not isinstance(number_of_clusters, int) or number_of_clusters < 2:
            raise TfnasInputError(
                f"cluster must be a number of clusters >= 2, e.g. 16. Received: number_of_clusters={number_of_clusters!r}"
            )
        self.number_of_clusters = number_of_clusters
        self.keep = keep

    def get_config(self) -> dict[str, Any]:
        return {"number_of_clusters": self.number_of_clusters, "keep": self.keep}

    def keywords(self) -> dict[str, Any]:
        return {"cluster": self.number_of_clusters}

    def apply(self, model: Any, context: StageContext) -> Any:
        pruned = bool(context.changed.get(Prune.name))
        plan = cluster_lib.plan_clustering(model, self.number_of_clusters, keep=self.keep, preserve_sparsity=pruned)
        context.skipped[self.name] = plan.skipped
        context.changed[self.name] = list(plan.layers)
        return cluster_lib.apply_clustering(model, plan)

    def cut(self) -> float:
        """A quarter: clustering keeps every weight but shares their values."""
        return 0.25

    def strip(self, model: Any, context: StageContext) -> Any:
        return cluster_lib.strip(model)


class Distill(Stage):
    """Knowledge distillation from a trained teacher: every stage fine-tunes on its softened outputs plus the labels.

    The teacher's targets are the loss of every stage's fine-tuning, so this
    stage fine-tunes on its own only when it is the only one: after a stage
    that was fine-tuned it finds nothing to do, and with `QAT` it does not
    run (QAT fine-tunes on the teacher's targets last).

    Example: `tfnas.compress(model, x, y, stages=[Prune(0.5), Distill(teacher)])`.

    Args:
        teacher: A trained Keras model of the same inputs and classes.
        temperature: Softening temperature (> 0).
        alpha: Weight of the label loss, in [0, 1].
    """

    name = "distill"

    def __init__(self, teacher: Any, temperature: float = 4.0, alpha: float = 0.1) -> None:
        if not hasattr(teacher, "predict"):
            raise TfnasInputError(
                f"distill_from must be a trained Keras model. You passed an object of type: {type(teacher).__name__}."
            )
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
            raise TfnasInputError(f"temperature must be > 0. Received: temperature={temperature!r}")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
            raise TfnasInputError(f"distill_alpha must lie in [0, 1]. Received: alpha={alpha!r}")
        self.teacher, self.temperature, self.alpha = teacher, temperature, alpha

    def get_config(self) -> dict[str, Any]:
        return {"teacher": self.teacher, "temperature": self.temperature, "alpha": self.alpha}

    def keywords(self) -> dict[str, Any]:
        return {"distill_from": self.teacher, "temperature": self.temperature, "distill_alpha": self.alpha}

    def check(self, model: Any, task: Task) -> None:
        if not task.is_classification:
            raise TfnasInputError(
                "distill_from works for classification only: the teacher's softened class probabilities are the targets."
            )
        distill_lib.check_teacher(self.teacher, model)

    def loss(self, student: Any) -> Any:
        """The loss every stage fine-tunes with: labels and the teacher's softened outputs."""
        return distill_lib.DistillationLoss(self.temperature, self.alpha, from_softmax=distill_lib.ends_in_softmax(student))

    def apply(self, model: Any, context: StageContext) -> Any | None:
        return None if context.done else model


class QAT(Stage):
    """Quantization-aware training, prune- or cluster-preserving after those stages.

    A model with 1-D convs or pooling is trained as its 2-D twin on (1, T, C)
    tensors (`to_tf_keras(..., as_2d=True)`, checked against the Keras 3
    model with the weights so far): TF-MOT quantizes no 1-D conv, and the
    converter runs them as 2-D ops anyway. The QAT model is not stripped: its
    learned int8 ranges are what the converter uses.

    Example: `tfnas.compress(model, x, y, stages=[Prune(0.5), QAT()])`.
    """

    name = "qat"

    def __init__(self) -> None:
        self._sparsity_before: dict[str, float] = {}

    def keywords(self) -> dict[str, Any]:
        return {"qat": True}

    def check(self, model: Any, task: Task) -> None:
        """A 1-D model must have a 2-D twin (channels-last 1-D layers), found out before any training."""
        if has_1d_layers(model):
            to_tf_keras(model, as_2d=True)

    def apply(self, model: Any, context: StageContext) -> Any:
        pruned = context.changed.get(Prune.name, [])
        self._sparsity_before = kernel_sparsity(model, pruned)
        scheme = quantize_lib.scheme_for(bool(pruned), Cluster.name in context.changed)
        if has_1d_layers(model):
            model = to_tf_keras(to_keras3(model, context.architecture), context.x_val[:BRIDGE_SAMPLES], as_2d=True)
        qat_model, floating = quantize_lib.apply_qat(model, scheme, frozen=context.layers_changed())
        context.skipped[self.name] = floating
        return qat_model

    def strip(self, model: Any, context: StageContext) -> Any:
        """Keeps the QAT model and notes the pruned layers whose zeros QAT lost."""
        before = self._sparsity_before
        after = kernel_sparsity(model, context.changed.get(Prune.name, []))
        lost = {name: (before[name], after.get(name, 0.0)) for name in before if after.get(name, 0.0) < before[name] - 1e-6}
        if lost:
            context.notes.append(f"QAT lowered the sparsity of {sorted(lost)} (before, after: {lost}).")
        return model

    def stats_model(self, model: Any, context: StageContext) -> Any:
        """The Keras 3 copy (the QAT model also holds its quantizers' ranges)."""
        return to_keras3(model, context.architecture)
