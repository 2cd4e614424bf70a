"""The stages that build a new, smaller Keras 3 architecture: `LowRank` and `PruneChannels`.

Each is a thin adapter from the `Stage` contract to its own module
(`lowrank`, `channels`, `channel_budget`), which holds the plan and the
rebuild. Both take the Keras 3 model and return a new one
(`changes_architecture`); the runner carries it to tf_keras to fine-tune.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from tfnas.compress import channel_budget as budget_lib
from tfnas.compress import channels as channels_lib
from tfnas.compress import lowrank as lowrank_lib
from tfnas.compress.stage import Stage
from tfnas.compress.stage import StageContext
from tfnas.constraints import Constraints
from tfnas.cost.device import load_device
from tfnas.cost.device import require_device
from tfnas.errors import TfnasInputError
from tfnas.task import Task
from tfnas.training import recalibrate_batchnorm


class LowRank(Stage):
    """Truncated-SVD factorisation of the large Dense layers; skipped when no layer is worth it.

    Example: `tfnas.compress(model, x, y, stages=[LowRank(0.25), QAT()])`.

    Args:
        rank: A rank (int >= 1) or a share of the full rank in (0, 1).
    """

    name = "lowrank"
    changes_architecture = True

    def __init__(self, rank: int | float) -> None:
        if isinstance(rank, bool) or not isinstance(rank, (int, float)) or rank <= 0 or (isinstance(rank, float) and rank >= 1):
            raise TfnasInputError(
                f"lowrank must be a rank (int >= 1) or a share of the full rank in (0, 1). Received: rank={rank!r}"
            )
        self.rank = rank

    def get_config(self) -> dict[str, Any]:
        return {"rank": self.rank}

    def keywords(self) -> dict[str, Any]:
        return {"lowrank": self.rank}

    def check(self, model: Any, task: Task) -> None:
        lowrank_lib.plan_lowrank(model, self.rank)

    def apply(self, model: Any, context: StageContext) -> Any | None:
        ranks, skipped = lowrank_lib.plan_lowrank(model, self.rank)
        context.skipped[self.name] = skipped
        return lowrank_lib.factorize(model, ranks) if ranks else None

    def stats_model(self, model: Any, context: StageContext) -> Any:
        """The factorised Keras 3 model, as `apply` built it."""
        return context.architecture


class PruneChannels(Stage):
    """Channel pruning: removes whole filters, in `steps` fine-tuned steps, and rebuilds a smaller Keras 3 model.

    `PruneChannels(0.5, steps=2)` makes two steps, each fine-tuned before the
    next, removing `1 - (1 - 0.5) ** (1 / 2)` of the filters left each time;
    with `target=` each step recomputes, on the model it gets, the shares
    that meet the target (`channel_budget.shares_for_target`) and takes its
    step's part of them, the last step all of what is left, so the target
    holds by the cost model at the end.

    Example: `tfnas.compress(model, x, y, stages=[PruneChannels(target={"max_macs": 8000}), QAT()])`.

    Args:
        share: The share of filters to remove over all steps in (0, 1), or
            `{layer name: share}`; None with `target`.
        target: Cost limits to meet (`Constraints` keys: `max_macs`, `max_params`, ...), or None.
        steps: Number of fine-tuned steps.
        criterion: How filters are ranked, one of `channels.CRITERIA`
            (default "taylor", on the run's fine-tuning samples).
        allocation: With `target`: "uniform" or "sensitivity" (see `channel_budget`).
        keep: Layers whose filters all stay; defaults to the first and last weighted layers.
    """

    name = "channels"
    changes_architecture = True

    def __init__(
        self, share: float | Mapping[str, float] | None = None, *, target: Constraints | Mapping[str, int] | None = None,
        steps: int = 2, criterion: str = "taylor", allocation: str = "uniform", keep: Sequence[str] | None = None,
        device: Any = None,
    ) -> None:
        _check_channel_arguments(share, target, steps, criterion, allocation)
        self.device = load_device(device, purpose="PruneChannels")  # a path is read once, here
        limits = Constraints.from_any(target) if target is not None else None
        if limits is not None and not limits.limits():
            raise TfnasInputError(
                f"target must name at least one limit, e.g. target={{'max_macs': 8000}}. Received: target={target!r}"
            )
        self.share, self.target, self.steps, self.step = share, limits, steps, 1
        self.keep, self.criterion, self.allocation = keep, criterion, allocation

    def get_config(self) -> dict[str, Any]:
        target = None if self.target is None else self.target.to_dict()
        return {"share": self.share, "target": target, "steps": self.steps, "criterion": self.criterion,
                "allocation": self.allocation, "keep": self.keep}

    def keywords(self) -> dict[str, Any]:
        config = self.get_config()
        return {"channels": config["share"], "target": config["target"], "channel_steps": self.steps,
                "channel_criterion": self.criterion, "channel_allocation": self.allocation}

    def expand(self) -> list[Stage]:
        """One stage per step, named "channels i/steps" (just "channels" for one step)."""
        steps: list[Stage] = []
        for step in range(1, self.steps + 1):
            one = copy.copy(self)
            one.step, one.name = step, "channels" if self.steps == 1 else f"channels {step}/{self.steps}"  # type: ignore[misc]
            steps.append(one)
        return steps

    def check(self, model: Any, task: Task) -> None:
        # Which filters are ranked first does not change what can be cut: the check plans by L1, without data.
        if self.share is not None:
            channels_lib.plan_channels(model, self.share, self.keep, "l1")
        if self.target is not None:
            require_device(self.target.to_dict(), self.device, f"the target {self.target.to_dict()}")
        if self.target is not None and self.step == 1:  # reachable, before training
            pruning = budget_lib.Pruning(self.keep, "l1", device=self.device)
            pruning.keep, _ = budget_lib.keep_for_target(model, self.target, pruning)
            budget_lib.shares_for_target(model, self.target, pruning, "uniform")

    def apply(self, model: Any, context: StageContext) -> Any | None:
        pruning = budget_lib.Pruning(self.keep, self.criterion, context.samples, context.task, self.device)
        share = self._step_share(model, pruning, context)
        if not share:
            assert self.target is not None
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

    def _step_share(self, model: Any, pruning: budget_lib.Pruning, context: StageContext) -> Any:
        """This step's share (or `{layer: share}`) of the filters left: its part of the whole request."""
        left = self.steps - self.step + 1
        if self.target is not None:
            pruning.keep, note = budget_lib.keep_for_target(model, self.target, pruning)
            if note and self.step == 1:
                context.notes.append(f"{self.name}: {note}")
            whole = budget_lib.shares_for_target(model, self.target, pruning, self.allocation)
            return {name: s if left == 1 else 1.0 - (1.0 - s) ** (1.0 / left) for name, s in whole.items()}
        if isinstance(self.share, Mapping):
            return {name: 1.0 - (1.0 - s) ** (1.0 / self.steps) for name, s in self.share.items()}
        assert self.share is not None
        return 1.0 - (1.0 - self.share) ** (1.0 / self.steps)


def _check_channel_arguments(share: Any, target: Any, steps: Any, criterion: Any, allocation: Any) -> None:
    """Raises, naming the value received, unless `PruneChannels`'s arguments make sense on their own."""
    if share is None and target is None:
        raise TfnasInputError("PruneChannels needs a share of filters to remove or a target. Received: share=None, target=None")
    for value in share.values() if isinstance(share, Mapping) else [] if share is None else [share]:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
            raise TfnasInputError(
                f"channels must be a share of filters to remove in (0, 1), or {{layer: share}}. Received: share={share!r}"
            )
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise TfnasInputError(f"channel_steps must be a positive integer. Received: steps={steps!r}")
    if criterion not in channels_lib.CRITERIA:
        raise TfnasInputError(
            f"channel_criterion={criterion!r} must be one of {channels_lib.CRITERIA}. Received: criterion={criterion!r}"
        )
    if allocation not in budget_lib.ALLOCATIONS:
        raise TfnasInputError(
            f"channel_allocation={allocation!r} must be one of {budget_lib.ALLOCATIONS}. Received: allocation={allocation!r}"
        )
