"""Plots of a search: the front picture and the history, from a real (tiny) search."""

from __future__ import annotations

import numpy as np
import pytest

import tfnas
from tfnas.plot import search_history

pytest.importorskip("matplotlib")


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


def test_history_is_monotone(small_search, tmp_path):
    history = search_history(small_search)
    assert len(history["trial"]) == len(small_search.completed)
    assert np.all(np.diff(history["hypervolume"]) >= -1e-12) and np.all(np.diff(history["best_reward"]) >= 0)
    assert 0.0 < history["hypervolume"][-1] <= 1.0
    small_search.plot_history(str(tmp_path / "history.png"))
    assert (tmp_path / "history.png").stat().st_size > 5_000
