"""Plots of a search: the front picture and the history, from a real (tiny) search."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import tfnas
from tfnas.plot import plot_front
from tfnas.plot import search_history

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(scope="module")
def small_search(digits, tmp_path_factory):
    (x, y), _ = digits
    directory = str(tmp_path_factory.mktemp("plot"))
    return tfnas.search(x, y, constraints={"max_macs": 20_000}, max_trials=3, epochs=2, directory=directory, seed=0, verbose=0)


def test_front_plot_shows_trials_front_and_limit(small_search, tmp_path):
    fig = small_search.plot(str(tmp_path / "front.png"))
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "trials" in labels and "Pareto front" in labels and "max_macs = 20,000" in labels
    assert (tmp_path / "front.png").stat().st_size > 5_000
    front_line = ax.get_lines()[0]
    assert len(front_line.get_xdata()) == len(small_search.pareto)


def test_front_plot_shows_test_figures_once_evaluated(small_search, digits, tmp_path):
    (x, y), (x_test, y_test) = digits
    small_search.evaluate(x_test, y_test)
    small_search.finalize(x, y, top=1, epochs=1, seeds=2, x_test=x_test, y_test=y_test, print_fn=None)
    labels = [t.get_text() for t in small_search.plot().axes[0].get_legend().get_texts()]
    assert "front on test data (test_accuracy)" in labels
    assert "final training (test data, mean ± sd over seeds)" in labels


def test_history_is_monotone(small_search, tmp_path):
    history = search_history(small_search)
    assert len(history["trial"]) == len(small_search.completed)
    assert np.all(np.diff(history["hypervolume"]) >= -1e-12) and np.all(np.diff(history["best_reward"]) >= 0)
    assert 0.0 < history["hypervolume"][-1] <= 1.0
    small_search.plot_history(str(tmp_path / "history.png"))
    assert (tmp_path / "history.png").stat().st_size > 5_000


def _fake_result(macs):
    """A `SearchResult` look-alike: one completed trial per MACs value, all on the front."""
    trials = [
        SimpleNamespace(trial_id=f"{i:02d}", metrics={"macs": m, "val_accuracy": 0.5 + 0.4 * i / len(macs)})
        for i, m in enumerate(macs)
    ]
    return SimpleNamespace(quality="val_accuracy", completed=trials, pareto=trials, constraints={}, deployed=[])


@pytest.mark.parametrize("macs", [[500, 5_000, 50_000, 500_000, 5_000_000], [3, 3e5, 3e11], [12_000, 15_000, 18_000]])
def test_front_plot_macs_labels_are_compact_and_do_not_overlap(macs):
    fig = plot_front(_fake_result(macs))
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    low, high = ax.get_xlim()
    labels = ax.get_xticklabels(minor=False) + ax.get_xticklabels(minor=True)
    shown = [t for t in labels if t.get_visible() and t.get_text() and low <= t.get_position()[0] <= high]  # what is drawn
    texts = [t.get_text() for t in shown]
    boxes = sorted((t.get_window_extent(renderer) for t in shown), key=lambda box: box.x0)
    for left, right in zip(boxes, boxes[1:], strict=False):
        assert left.x1 < right.x0, f"tick labels overlap: {texts}"
    assert 2 <= len(shown) <= 6, texts
    assert all(len(text) <= 5 and "," not in text for text in texts), texts  # "2k", "12.5k", "1M", not "12,345"
    assert len(set(texts)) == len(texts), texts
    plt.close(fig)
