"""The compression stages of `tfnas.compress`, and the one order they run in (`ORDER`).

Each stage is a thin adapter from the `Stage` contract to its own module
(`lowrank`, `prune`, `cluster`, `quantize`), which holds the plan and the
TF-MOT calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from tfnas.compress import channel_budget as budget_lib
from tfnas.compress import channels as channels_lib
from tfnas.compress import cluster as cluster_lib
from tfnas.compress import lowrank as lowrank_lib
from tfnas.compress import prune as prune_lib
from tfnas.compress import quantize as quantize_lib
from tfnas.compress.as_2d import has_1d_layers
from tfnas.compress.bridge import to_keras3
from tfnas.compress.bridge import to_tf_keras
from tfnas.compress.measure import kernel_sparsity
from tfnas.compress.runner import BRIDGE_SAMPLES
from tfnas.compress.stage import Stage
from tfnas.compress.stage import StageContext
from tfnas.constraints import Constraints
from tfnas.errors import TfnasInputError
from tfnas.task import Task
from tfnas.training import recalibrate_batchnorm


class LowRank(Stage):
    """Truncated-SVD factorisation of the large Dense layers; skipped when no layer is worth it.

    Args:
        rank: A rank (int >= 1) or a share of the full rank in (0, 1).
    """

    name = "lowrank"
    changes_architecture = True

    def __init__(self, rank: int | float) -> None:
        self.rank = rank

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> LowRank | None:
        return None if arguments["lowrank"] is None else cls(arguments["lowrank"])

    def check(self, model: Any, task: Task) -> None:
        lowrank_lib.plan_lowrank(model, self.rank)

    def apply(self, model: Any, context: StageContext) -> Any | None:
        ranks, skipped = lowrank_lib.plan_lowrank(model, self.rank)
        context.skipped[self.name] = skipped
        return lowrank_lib.factorize(model, ranks) if ranks else None

    def stats_model(self, model: Any, context: StageContext) -> Any:
        """The factorised Keras 3 model, as `apply` built it."""
        return context.architecture


class Channels(Stage):
    """One step of channel pruning: removes whole filters and rebuilds a smaller Keras 3 model.

    `compress(channels=0.5, channel_steps=2)` makes two steps, each fine-tuned
    before the next, removing `1 - (1 - 0.5) ** (1 / 2)` of the filters left
    each time; with `target=` each step recomputes, on the model it gets, the
    shares that meet the target (`channel_budget.shares_for_target`) and takes
    its step's part of them, the last step all of what is left, so the target
    holds by the cost model at the end.

    Args:
        share: The share of filters to remove over all steps, or None with `target`.
        target: Cost limits to meet (`Constraints` keys: `max_macs`, `max_params`, ...), or None.
        step: This step's number, from 1.
        steps: Number of steps.
        keep: Layers whose filters all stay; defaults to the first and last weighted layers.
        criterion: One of `channels.CRITERIA`.
        allocation: With `target`: "uniform" or "sensitivity" (see `channel_budget`).
    """

    name = "channels"
    changes_architecture = True

    def __init__(
        self, share: float | Mapping[str, float] | None, target: Constraints | None, step: int = 1, steps: int = 1,
        keep: Sequence[str] | None = None, criterion: str = "l1", allocation: str = "uniform",
    ) -> None:
        self.share, self.target, self.step, self.steps = share, target, step, steps
        self.keep, self.criterion, self.allocation = keep, criterion, allocation
        self.name = "channels" if steps == 1 else f"channels {step}/{steps}"

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> list[Channels] | None:
        if arguments.get("channels") is None and arguments.get("target") is None:
            return None
        steps = arguments.get("channel_steps", 2)
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise TfnasInputError(f"channel_steps must be a positive integer. Received: channel_steps={steps!r}")
        target = Constraints.from_any(arguments["target"]) if arguments.get("target") is not None else None
        if target is not None and not target.limits():
            raise TfnasInputError("target must name at least one limit, e.g. target={'max_macs': 8000}.")
        allocation = arguments.get("channel_allocation", "uniform")
        if allocation not in budget_lib.ALLOCATIONS:
            raise TfnasInputError(f"channel_allocation={allocation!r} must be one of {budget_lib.ALLOCATIONS}.")
        criterion = arguments.get("channel_criterion", "l1")
        if criterion not in channels_lib.CRITERIA:
            raise TfnasInputError(f"channel_criterion={criterion!r} must be one of {channels_lib.CRITERIA}.")
        return [cls(arguments.get("channels"), target, step, steps, arguments.get("keep"), criterion, allocation) for step in range(1, steps + 1)]

    def check(self, model: Any, task: Task) -> None:
        # Which filters are ranked first does not change what can be cut: the check plans by L1, without data.
        if self.share is not None:
            channels_lib.plan_channels(model, self.share, self.keep, "l1")
        if self.target is not None and self.step == 1:  # reachable, before training
            pruning = budget_lib.Pruning(self.keep, "l1")
            pruning.keep, _ = budget_lib.keep_for_target(model, self.target, pruning)
            budget_lib.shares_for_target(model, self.target, pruning, "uniform")

    def apply(self, model: Any, context: StageContext) -> Any | None:
        pruning = budget_lib.Pruning(self.keep, self.criterion, context.samples, context.task)
        left = self.steps - self.step + 1
        if self.target is not None:
            pruning.keep, note = budget_lib.keep_for_target(model, self.target, pruning)
            if note and self.step == 1:
                context.notes.append(f"{self.name}: {note}")
            whole = budget_lib.shares_for_target(model, self.target, pruning, self.allocation)
            share: Any = {name: s if left == 1 else 1.0 - (1.0 - s) ** (1.0 / left) for name, s in whole.items()}
        elif isinstance(self.share, Mapping):
            share = {name: 1.0 - (1.0 - s) ** (1.0 / self.steps) for name, s in self.share.items()}
        else:
            share = 1.0 - (1.0 - self.share) ** (1.0 / self.steps)
        if not share:
            context.notes.append(f"{self.name}: the model already meets the target {self.target.to_dict()}; nothing removed.")
            return None
        plan = channels_lib.plan_channels(model, share, pruning.keep, self.criterion, context.samples)
        context.skipped[self.name] = plan.skipped
        if not plan.removed:
            context.notes.append(f"{self.name}: no filter could be removed ({plan.skipped}).")
            return None
        context.changed[self.name] = sorted(n for n, kept in plan.keep.items() if len(kept) < plan.sizes[n])
        pruned = channels_lib.prune_channels(model, plan)
        return pruned if context.samples is None else recalibrate_batchnorm(pruned, context.samples[0])

    def stats_model(self, model: Any, context: StageContext) -> Any:
        """The smaller Keras 3 model, as `apply` built it."""
        return context.architecture


class Prune(Stage):
    """Magnitude pruning (PolynomialDecay over the first 70% of the steps) or m:n structured pruning.

    Args:
        sparsity: A target sparsity in (0, 1), `{layer name: sparsity}`, or None with `structure`.
        structure: `"2:4"`, `"1:2"`, `"4:8"` or None.
        keep: Layer names kept dense; defaults to the first and last weighted layers.
    """

    name = "prune"

    def __init__(
        self, sparsity: float | Mapping[str, float] | None, structure: str | None = None, keep: Sequence[str] | None = None
    ) -> None:
        self.sparsity = sparsity
        self.structure = structure
        self.keep = keep

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> Prune | None:
        if arguments["prune"] is None and arguments["structure"] is None:
            return None
        return cls(arguments["prune"], arguments["structure"], arguments["keep"])

    def check(self, model: Any, task: Task) -> None:
        prune_lib.check_request(self.sparsity, self.structure)

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

    def callbacks(self) -> list[Any]:
        return prune_lib.callbacks()

    def strip(self, model: Any, context: StageContext) -> Any:
        return prune_lib.strip(model)


class Cluster(Stage):
    """Weight clustering, sparsity-preserving after pruning.

    Args:
        number_of_clusters: Distinct values per clustered kernel, at least 2.
        keep: Layer names left as they are; defaults to the first and last weighted layers.
    """

    name = "cluster"

    def __init__(self, number_of_clusters: int, keep: Sequence[str] | None = None) -> None:
        self.number_of_clusters = number_of_clusters
        self.keep = keep

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> Cluster | None:
        return None if arguments["cluster"] is None else cls(arguments["cluster"], arguments["keep"])

    def check(self, model: Any, task: Task) -> None:
        cluster_lib.check_clusters(self.number_of_clusters)

    def apply(self, model: Any, context: StageContext) -> Any:
        pruned = bool(context.changed.get(Prune.name))
        plan = cluster_lib.plan_clustering(model, self.number_of_clusters, keep=self.keep, preserve_sparsity=pruned)
        context.skipped[self.name] = plan.skipped
        context.changed[self.name] = list(plan.layers)
        return cluster_lib.apply_clustering(model, plan)

    def strip(self, model: Any, context: StageContext) -> Any:
        return cluster_lib.strip(model)


class Distill(Stage):
    """Distillation alone: fine-tunes the model as it is on the teacher's softened outputs.

    The teacher's targets are the loss of every stage's fine-tuning, so this
    stage does something only when it is the only one: after a stage that was
    fine-tuned it finds nothing to do, and with QAT it is not listed (QAT
    fine-tunes on the teacher's targets last).
    """

    name = "distill"

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> Distill | None:
        return cls() if arguments["distill_from"] is not None and not arguments["qat"] else None

    def apply(self, model: Any, context: StageContext) -> Any | None:
        return None if context.done else model


class QAT(Stage):
    """Quantization-aware training, prune- or cluster-preserving after those stages.

    A model with 1-D convs or pooling is trained as its 2-D twin on (1, T, C)
    tensors (`to_tf_keras(..., as_2d=True)`, checked against the Keras 3
    model with the weights so far): TF-MOT quantizes no 1-D conv, and the
    converter runs them as 2-D ops anyway. The QAT model is not stripped: its
    learned int8 ranges are what the converter uses.
    """

    name = "qat"

    def __init__(self) -> None:
        self._sparsity_before: dict[str, float] = {}

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> QAT | None:
        return cls() if arguments["qat"] else None

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


ORDER: tuple[type[Stage], ...] = (LowRank, Channels, Prune, Cluster, Distill, QAT)
"""The order stages run in, whatever the order of `compress`'s arguments.

Low rank and channel pruning first: they change the architecture, and the
stages after them wrap the layers of the new one. Pruning before clustering: clustering then keeps
the zeros (sparsity-preserving clustering), where pruning after clustering
would break the shared values. Distillation alone needs no other stage.
QAT last: the int8 ranges are learned on the final weights, with the
scheme that keeps what pruning and clustering made. A new stage is a new
`Stage` class with `from_arguments`, plus its place in this tuple.
"""


def build_stages(arguments: Mapping[str, Any]) -> list[Stage]:
    """The stages `compress`'s keyword arguments ask for, in `ORDER`.

    Args:
        arguments: `compress`'s keyword arguments by name (`prune`, `structure`,
            `cluster`, `qat`, `distill_from`, `lowrank`, `keep`, `channels`,
            `channel_criterion`, `channel_steps`, `target`).

    Returns:
        The stages, not yet checked.
    """
    stages: list[Stage] = []
    for cls in ORDER:
        made = cls.from_arguments(arguments)  # a stage, a list of steps (channel pruning), or None
        stages.extend([] if made is None else made if isinstance(made, list) else [made])
    return stages
