"""Pictures of a search: quality against MACs with the front, and how the search got there.

matplotlib is an optional extra (`pip install "tfnas[plot]"`); it is imported
only when a plot is drawn, with the Agg backend unless one is already chosen,
so plotting works on a CI box without a display and inline in notebooks.
"""

from __future__ import annotations

import math
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
    measured = [*front, *getattr(result, "final", [])]
    test = next((k for c in measured for k in c.metrics if k.startswith("test_") and not k.endswith("_std")), None)
    tested = [c for c in front if test in c.metrics]
    if tested:  # `result.evaluate`: the front's models on the test split
        ax.scatter([c.metrics[cost] for c in tested], [c.metrics[test] for c in tested], marker="x", color="C2",
                   label=f"front on test data ({test})")  # fmt: skip
    final = [f for f in getattr(result, "final", []) if test in f.metrics]
    if final:  # `result.finalize`: retrained on training + validation data, mean over seeds
        ax.errorbar([f.metrics[cost] for f in final], [f.metrics[test] for f in final],
                    yerr=[f.metrics.get(f"{test}_std", 0.0) for f in final], fmt="D", color="C4",
                    label="final training (test data, mean ± sd over seeds)")  # fmt: skip
    deployed = [d for d in getattr(result, "deployed", []) if d.micro_value is not None]
    if deployed and cost == "macs":  # a deployed record holds the file's MACs, not its latency
        ax.plot([d.macs for d in deployed], [d.micro_value for d in deployed], "s--", color="C3",
                label="int8 on TFLite Micro (test data)")  # fmt: skip
    limit = result.constraints.get(f"max_{cost}")
    if limit:
        ax.axvline(limit, color="C1", linestyle=":", label=f"max_{cost} = {limit:,}")
    ax.set_xscale("log")
    _round_log_ticks(ax.xaxis)
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


def _round_ticks(vmin: float, vmax: float, max_ticks: int = 6) -> list[float]:
    """Tick values for a log axis from `vmin` to `vmax`: round numbers, at most `max_ticks` of them.

    The densest series that fits is used: 1-9, then 1-2-5, then 1-3 times a
    power of ten, then every power of ten, then every 2nd, 3rd... power.
    A range too narrow for two such values gets evenly spaced round values.

    Args:
        vmin: float, one end of the axis (> 0).
        vmax: float, the other end.
        max_ticks: int, the most ticks to return. Defaults to 6.

    Returns:
        The ticks inside the range, ascending.
    """
    lo, hi = sorted((vmin, vmax))
    if not 0 < lo < hi or not math.isfinite(hi):
        return [lo] if lo > 0 and math.isfinite(lo) else []
    emin, emax = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    series: list[tuple[tuple[int, ...], int]] = [(subs, 1) for subs in ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 5), (1, 3))]
    series += [((1,), stride) for stride in range(1, emax - emin + 2)]
    for subs, stride in series:
        ticks = [s * 10.0**e for e in range(emin, emax + 1) if e % stride == 0 for s in subs]
        ticks = [t for t in ticks if lo <= t <= hi]
        if len(ticks) <= max_ticks:
            break
    if len(ticks) >= 2:
        return ticks
    step = 10.0 ** math.floor(math.log10((hi - lo) / max_ticks))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if (hi - lo) / (step * m) < max_ticks)
    return [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)]


def _si_labels(values: list[float]) -> list[str]:
    """Compact tick labels (500, 2k, 12.5k, 1.2M, 3G): three significant digits, more only where two would read the same."""
    for digits in range(3, 16):
        labels = [_si(value, digits) for value in values]
        if len(set(labels)) == len(labels):
            break
    return labels


def _si(value: float, digits: int) -> str:
    value = float(f"{value:.{digits}g}")
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g}{unit}"
    return f"{value:.{digits}g}"


def _round_log_ticks(axis: Any) -> None:
    """Puts `_round_ticks` with `_si_labels` on a log axis, as many as fit; minor ticks stay, unlabelled."""
    ticker = _ticker()
    log_locator: Any = ticker.LogLocator
    formatter: Any = ticker.Formatter

    # matplotlib is optional: these classes are made when a plot is drawn
    class RoundLogLocator(log_locator):
        def tick_values(self, vmin: float, vmax: float) -> Any:
            fits = self.axis.get_tick_space() if self.axis is not None else 6
            return np.array(_round_ticks(vmin, vmax, max_ticks=int(np.clip(fits, 2, 6))))

    class SIFormatter(formatter):
        def __call__(self, x: float, pos: int | None = None) -> str:
            return _si_labels([x])[0]

        def format_ticks(self, values: list[float]) -> list[str]:
            return _si_labels(list(values))

    axis.set_major_locator(RoundLogLocator())
    axis.set_major_formatter(SIFormatter())
    axis.set_minor_formatter(ticker.NullFormatter())


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
