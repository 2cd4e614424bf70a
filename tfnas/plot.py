"""Pictures of a search: quality against MACs with the front, and how the search got there.

matplotlib is an optional extra (`pip install "tfnas[plot]"`); it is imported
only when a plot is drawn, with the Agg backend unless one is already chosen,
so plotting works on a CI box without a display and inline in notebooks.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from tfnas.errors import TfnasInputError
from tfnas.pareto import hypervolume_2d


def plot_front(result: Any, ax: Any = None, cost: str = "macs") -> Any:
    """Draws every completed trial's quality against its cost (log scale), the front, limits and the int8 front.

    Args:
        result: A `SearchResult`.
        ax: A matplotlib Axes to draw on; a new figure when None.
        cost: The cost metric on the x axis.

    Returns:
        The matplotlib Figure.
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    quality = result.quality
    done = [t for t in result.completed if quality in t.metrics and cost in t.metrics]
    if not done:
        raise TfnasInputError("The search has no completed trial to plot yet.")
    ax.scatter([t.metrics[cost] for t in done], [t.metrics[quality] for t in done], s=18, color="0.6", label="trials")
    front = sorted(result.pareto, key=lambda c: c.metrics[cost])
    ax.plot([c.metrics[cost] for c in front], [c.metrics[quality] for c in front], "o-", color="C0", label="Pareto front")
    for c in front:
        ax.annotate(c.trial_id, (c.metrics[cost], c.metrics[quality]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    deployed = [d for d in getattr(result, "deployed", []) if d.micro_value is not None]
    if deployed:
        ax.plot([d.macs for d in deployed], [d.micro_value for d in deployed], "s--", color="C3",
                label="int8 on TFLite Micro (test data)")  # fmt: skip
    limit = result.constraints.get(f"max_{cost}")
    if limit:
        ax.axvline(limit, color="C1", linestyle=":", label=f"max_{cost} = {limit:,}")
    ax.set_xscale("log")
    plain = _ticker().FuncFormatter(lambda value, _: f"{value:,.0f}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel(cost)
    ax.set_ylabel(quality)
    ax.set_title(f"{len(done)} trained candidates, {len(front)} on the front")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return ax.figure


def plot_history(result: Any, cost: str = "macs") -> Any:
    """Draws, per completed trial in order, the front's hypervolume and the best reward so far.

    The hypervolume is of (error or loss, cost) normalised by the largest cost
    seen (or the limit on it), so 1.0 would be a perfect model at no cost.

    Returns:
        The matplotlib Figure.
    """
    plt = _pyplot()
    history = search_history(result, cost)
    if not history["trial"]:
        raise TfnasInputError("The search has no completed trial to plot yet.")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    steps = np.arange(1, len(history["trial"]) + 1)
    top.plot(steps, history["hypervolume"], "o-")
    top.set_ylabel("hypervolume")
    bottom.plot(steps, history["best_reward"], "o-", color="C2")
    bottom.set_ylabel("best reward so far")
    bottom.set_xlabel("completed trials")
    bottom.xaxis.set_major_locator(_ticker().MaxNLocator(integer=True))
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
    return fig


def search_history(result: Any, cost: str = "macs") -> dict[str, list]:
    """Per completed trial (in trial order): its id, the hypervolume so far and the best reward so far."""
    done = [t for t in result.completed if result.quality in t.metrics and cost in t.metrics]
    scale = result.constraints.get(f"max_{cost}") or max((t.metrics[cost] for t in done), default=1.0)
    maximize = result.direction == "max"
    errors = [1.0 - t.metrics[result.quality] if maximize else t.metrics[result.quality] for t in done]
    reference = (1.0 if maximize else max(errors, default=1.0) * 1.1, 1.0)  # fixed in advance: comparable per step
    history: dict[str, list] = {"trial": [], "hypervolume": [], "best_reward": []}
    best = -np.inf
    for i, t in enumerate(done):
        best = max(best, t.score if t.score is not None else -np.inf)
        points = np.array([(errors[j], done[j].metrics[cost] / scale) for j in range(i + 1)])
        history["trial"].append(t.trial_id)
        history["hypervolume"].append(hypervolume_2d(points, reference) / (reference[0] * reference[1]))
        history["best_reward"].append(float(best))
    return history


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as e:
        raise TfnasInputError('Plots need matplotlib: pip install "tfnas[plot]" (or pip install matplotlib).') from e
    if "matplotlib.pyplot" not in sys.modules and not _interactive():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ticker() -> Any:
    import matplotlib.ticker

    return matplotlib.ticker


def _interactive() -> bool:
    """True inside IPython/Jupyter, where the notebook's inline backend must stay."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None
