"""Compress to a budget: the shares of filters whose channel-pruned model meets cost limits by the cost model.

`compress(target={"max_macs": 8000})` needs, per prunable group of filters,
the share to remove. Two allocations:

* "uniform": one share for every group, the smallest that meets the target
  (bisection on the share).
* "sensitivity": each group is first pruned alone at a few shares and the
  drop in accuracy measured on samples of the fine-tuning data, batch norm
  re-estimated on them first (the sensitivity analysis of Han et al. 2015,
  with EagleEye's adaptive batch norm); then one tolerated drop is
  bisected, and each group gives up the largest share whose drop stays within
  it, so the groups that hurt least give up most.

Either way every candidate is priced by `tfnas.cost.profile`, exactly as the
search prices its candidates, so the shares found meet the target by the
cost model (and, the cost model being exact, in the exported file).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from tfnas.compress.channel_graph import PRODUCERS
from tfnas.compress.channels import plan_channels
from tfnas.compress.channels import prunable_groups
from tfnas.compress.channels import prune_channels
from tfnas.errors import TfnasInputError
from tfnas.training import recalibrate_batchnorm

MAX_SHARE = 0.95  # compress-to-budget never removes more of a group's filters than this
ALLOCATIONS = ("uniform", "sensitivity")
SENSITIVITY_SHARES = (0.25, 0.5, 0.75, 0.9)  # shares each group is pruned alone at to measure its sensitivity
# Added to every drop per unit of share: groups whose measured drops tie (often at 0, within one sample of the
# data) then give up equal shares as the tolerated drop grows, instead of all jumping to the largest share at once.
TIE_SLOPE = 1e-4
BISECTION_STEPS = 14
# `keep_for_target`: keeping the first layer whole may cost the other groups at most this share of their filters,
# and at most this many times the share they give up with it pruned too (a residual stem ties most channels to it:
# measured 2.0-3.1x on residual models, 1.3-1.5x on the plain digits and keyword-spotting benchmark models).
MAX_KEPT_SHARE = 0.75
SPREAD = 1.75


@dataclasses.dataclass
class Pruning:
    """How channel pruning prunes: what stays whole, how filters are ranked, and the ranking's data.

    Attributes:
        keep: Layers whose filters all stay (None: the first and last weighted layers).
        criterion: See `channels.plan_channels`.
        data: `(x, y)` samples of the fine-tuning data, for the "taylor" criterion and the "sensitivity" allocation.
        task: The `Task`, to score accuracy for the "sensitivity" allocation.
        device: A loaded `DeviceProfile`: the costs then include `latency_ms` (for a `max_latency_ms` target).
    """

    keep: Sequence[str] | None = None
    criterion: str = "l1"
    data: tuple[Any, Any] | None = None
    task: Any = None
    device: Any = None

    def prune(self, model: Any, shares: float | dict[str, float]) -> Any:
        """`model` with `shares` of its prunable filters removed (batch norm re-estimated on `data` when given)."""
        pruned = prune_channels(model, plan_channels(model, shares, self.keep, self.criterion, self.data))
        return pruned if self.data is None else recalibrate_batchnorm(pruned, self.data[0])

    def costs(self, model: Any, shares: float | dict[str, float]) -> dict[str, float]:
        """The cost model's figures of `model` with `shares` removed: which filters go does not change them,
        so they are ranked by L1, without data and without re-estimating batch norm."""
        from tfnas.cost import profile

        pruned = prune_channels(model, plan_channels(model, shares, self.keep, "l1")) if shares else model
        return profile(pruned, device=self.device).to_dict()


def shares_for_target(model: Any, target: Any, pruning: Pruning, allocation: str = "uniform") -> dict[str, float]:
    """Shares of filters to remove, by producer layer, whose pruned model meets `target` by the cost model.

    Args:
        model: A Keras 3 model.
        target: A `Constraints`.
        pruning: What stays, how filters are ranked.
        allocation: "uniform" or "sensitivity" (see the module docstring).

    Returns:
        `{layer name: share}` for `plan_channels` (one name per group); empty when `model` already meets `target`.

    Raises:
        TfnasInputError: a bad allocation, or even `MAX_SHARE` of every prunable group does not meet the target.
    """
    if allocation not in ALLOCATIONS:
        raise TfnasInputError(f"channel_allocation={allocation!r} must be one of {ALLOCATIONS}.")
    groups = [members[0] for members in prunable_groups(model, pruning.keep)]

    def violations(shares: dict[str, float]) -> list[str]:
        return target.violations(pruning.costs(model, shares))

    if not violations({}):
        return {}
    most = {name: MAX_SHARE for name in groups}
    if not groups or violations(most):
        left = "; ".join(violations(most)) if groups else "no layer it may prune"
        raise TfnasInputError(
            f"Channel pruning cannot meet target {target.to_dict()}: with {MAX_SHARE:.0%} of the filters of every prunable "
            f"layer removed it still has {left}. Relax the target, pass keep=[] to prune the first and last layers too, "
            "or search a smaller model."
        )
    if allocation == "uniform":
        pick = lambda level: {name: level for name in groups}  # noqa: E731
        low, high = 0.0, MAX_SHARE
    else:
        curves = sensitivity(model, groups, pruning)
        pick = lambda level: {name: share for name, share in _within(curves, level).items() if share > 0}  # noqa: E731
        low, high = 0.0, max(drops[-1] for _, drops in curves.values()) + 1e-9
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        low, high = (low, middle) if not violations(pick(middle)) else (middle, high)
    return pick(high)


def sensitivity(model: Any, groups: Sequence[str], pruning: Pruning) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per group (named by a producer), the shares it was pruned alone at and the accuracy drops measured.

    The drops are made increasing in the share (a noisy curve must not
    reward cutting more; `TIE_SLOPE` breaks ties), and start at (0, 0).
    """
    if pruning.data is None or pruning.task is None:
        raise TfnasInputError("channel_allocation='sensitivity' measures each layer's accuracy drop: it needs data and a task.")
    x, y = pruning.data
    base = pruning.task.quality(model, x, y)
    sign = 1.0 if pruning.task.higher_is_better else -1.0
    curves = {}
    for name in groups:
        drops = [0.0]
        for share in SENSITIVITY_SHARES:
            drops.append(max(drops[-1], sign * (base - pruning.task.quality(pruning.prune(model, {name: share}), x, y))))
        grid = np.asarray((0.0, *SENSITIVITY_SHARES))
        curves[name] = (grid, np.asarray(drops) + TIE_SLOPE * grid)
    return curves


def _within(curves: dict[str, tuple[np.ndarray, np.ndarray]], level: float) -> dict[str, float]:
    """The largest share of each group whose (linearly interpolated) drop stays within `level`."""
    shares = {}
    for name, (grid, drops) in curves.items():
        above = np.nonzero(drops > level)[0]
        if not len(above):
            shares[name] = float(grid[-1])
            continue
        i = int(above[0])  # drops[i - 1] <= level < drops[i]
        rise = drops[i] - drops[i - 1]
        shares[name] = float(grid[i - 1] + (grid[i] - grid[i - 1]) * (level - drops[i - 1]) / rise)
    return shares


def keep_for_target(model: Any, target: Any, pruning: Pruning) -> tuple[Sequence[str] | None, str | None]:
    """What stays whole for a target: the default (first and last layers), or the last layer alone.

    A residual network ties every block's output channels to its first
    layer's (the stem): keeping the stem whole then keeps them all, and the
    rest must absorb the whole cut. On the MNIST-1D benchmark model a target of
    58% of the MACs removed 88% of the one free group's filters with the stem
    kept, 28% of every group's with it pruned too, and lost 1.75-5.5 validation
    points where the stronger half-MAC target (unreachable with the stem kept,
    so spread over all groups) lost at most 0.37. When the user did not name
    `keep`, the first layer is therefore pruned too (with a note) when the
    target is out of reach with it kept, or keeping it costs the other groups
    more than `MAX_KEPT_SHARE` of their filters or over `SPREAD` times the share
    they give up with it pruned.

    Returns:
        The `keep` to use, and the note (None when the default stands).
    """
    if pruning.keep is not None:
        return pruning.keep, None
    weighted = [layer.name for layer in model.layers if type(layer).__name__ in PRODUCERS]
    if len(weighted) < 2:
        return None, None
    kept = _uniform_share(model, target, pruning, None)
    spread = _uniform_share(model, target, pruning, [weighted[-1]])
    if spread is None or (kept is not None and (kept <= MAX_KEPT_SHARE and kept <= SPREAD * spread)):
        return None, None
    cost = "cannot be met" if kept is None else f"would remove {kept:.0%} of the other layers' filters (vs {spread:.0%})"
    return [weighted[-1]], (
        f"the target {target.to_dict()} {cost} with the first layer's filters kept (residual connections tie other "
        f"layers to them), so {weighted[0]!r} was pruned too; pass keep= to choose what stays."
    )


def _uniform_share(model: Any, target: Any, pruning: Pruning, keep: Sequence[str] | None) -> float | None:
    """The uniform share every prunable group gives up to meet `target` with `keep` whole (None: out of reach)."""
    try:
        shares = shares_for_target(model, target, dataclasses.replace(pruning, keep=keep), "uniform")
    except TfnasInputError:
        return None
    return max(shares.values(), default=0.0)
