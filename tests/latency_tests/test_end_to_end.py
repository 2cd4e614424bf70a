"""Calibrate -> search under `max_latency_ms` -> export -> verify on this machine, on digits (small and slow-marked)."""

from __future__ import annotations

import keras_tuner as kt
import numpy as np
import pytest

import tfnas
from tfnas.app.pipeline import write_search_files
from tfnas.cost import profile
from tfnas.cost._graph import flatten_model
from tfnas.cost._kernel_features import graph_kernels
from tfnas.cost._lower import lower
from tfnas.demo import load_digits_images
from tfnas.latency import calibrate
from tfnas.rewards import Pareto
from tfnas.spaces import CNN2DSpace

FILTERS = (4, 8, 16, 32)


def _space() -> CNN2DSpace:
    """Two 3x3 conv blocks on 8x8 digits, four widths: candidates whose latency differs, and little else to choose."""
    return CNN2DSpace(num_blocks=(2,), filters=FILTERS, growth=(2,), kernel_sizes=(3,), strides=(1,), pooling=("none",),
                      head=("gap",), dense_units=(0,), dropout=(0.0,), learning_rate=(3e-3,))  # fmt: skip


def _candidates(space: CNN2DSpace) -> list:
    """Every candidate of the space (one per width), built untrained."""
    space = space.configure((8, 8, 1), 10, "classification")
    models = []
    for filters in FILTERS:
        hp = kt.HyperParameters()
        space.build(hp)
        hp.values["filters"] = filters
        models.append(space.build(hp))
    return models


def _tolerance(device, kinds: set[str]) -> float:
    """How far over its prediction a measured latency may be, from the calibration's own figures.

    A model's predicted time is the overhead plus a sum of per-op predictions; its relative error is at most
    that of its worst op (a sum of positive terms), estimated by the worst cross-validated mean error stored in
    the profile among the kernel types the model uses, doubled since a mean understates the tail. Added to it:
    the calibration's own noise floor on this machine, the median p95/median spread of its micro-model timings
    (a machine busy with other work times a file slower than it did during calibration). A fixed number would
    hold on one machine and fail on a noisier one, or pass anything on a quiet one.
    """
    worst = max(device.fit_errors[kind]["mape"] for kind in kinds)
    spread = np.median([row["p95"] / row["ms"] - 1 for rows in device.samples.values() for row in rows])
    return 2 * worst + float(spread)


@pytest.mark.slow
def test_search_under_a_latency_limit_trains_only_fast_candidates_and_the_file_meets_it(tmp_path, capsys):
    (x, y), (x_test, y_test) = load_digits_images()
    candidates = _candidates(_space())
    kinds = set()
    for model in candidates:
        graph = flatten_model(model)
        kinds |= {kind for kind, _ in graph_kernels(graph, lower(graph))}
    device = calibrate(str(tmp_path / "phone.json"), budget_s=0, kernels=sorted(kinds), initial=8, runs=10, compositions=4)
    predicted = sorted(profile(model, device=device).latency_ms for model in candidates)
    assert predicted[0] < predicted[-1]
    limit = (predicted[1] + predicted[2]) / 2  # the two cheapest widths meet it, the two dearest do not

    result = tfnas.search(
        x, y, space=_space(), device=str(tmp_path / "phone.json"), constraints={"max_latency_ms": limit}, oracle="random",
        reward=Pareto(costs=("latency_ms",)),
        max_trials=2, epochs=1, seed=0, directory=str(tmp_path), project_name="latency", verbose=1,
    )
    lines = capsys.readouterr().out
    assert result.completed and all(t.metrics["latency_ms"] <= limit for t in result.completed)
    assert " ms |" in lines  # the progress lines show each trial's predicted latency
    result.summary()
    assert "latency_ms" in capsys.readouterr().out
    assert result.costs == ("latency_ms",)
    pytest.importorskip("matplotlib")
    assert any(p.endswith("front.png") for p in write_search_files(result))  # drawn against latency_ms

    model = result.best.model()
    path = str(tmp_path / "best.tflite")
    tfnas.export(model, path, representative_data=x[:200])
    report = tfnas.verify(path, x_test[:100], y_test[:100], model=model, device=device)
    assert report.predicted_latency_ms == pytest.approx(result.best.metrics["latency_ms"], rel=1e-3)
    graph = flatten_model(model)
    tolerance = _tolerance(device, {kind for kind, _ in graph_kernels(graph, lower(graph))})
    assert report.latency_ms <= limit * (1 + tolerance), (report.latency_ms, limit, tolerance)
