"""A regression search end to end: search, front, best, export, verify (scikit-learn's diabetes data)."""

from __future__ import annotations

import math

import numpy as np

import tfnas


def _diabetes() -> tuple:
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype(np.float32)
    y = ((y - y.mean()) / y.std()).astype(np.float32)
    return (x[:350], y[:350]), (x[350:], y[350:])


def test_regression_search_front_best_export_verify(tmp_path, capsys):
    (x, y), (x_test, y_test) = _diabetes()
    result = tfnas.search(
        x, y, space="mlp", max_trials=3, epochs=3, seed=0, directory=str(tmp_path), project_name="reg", verbose=0
    )
    assert (result.quality, result.direction) == ("val_loss", "min")
    assert len(result.completed) == 3 and result.pareto and result.best is not None
    again = tfnas.SearchResult.load(result.project_dir)  # the objective is read back from the run directory
    assert (again.quality, again.direction) == ("val_loss", "min") and [c.trial_id for c in again.pareto] == [
        c.trial_id for c in result.pareto
    ]
    result.summary()
    out = capsys.readouterr().out
    assert "Pareto front (val_loss at the last epoch vs macs)" in out and f"* best by reward: trial {result.best.trial_id}" in out
    report = tfnas.export(result.best, str(tmp_path / "reg.tflite"), representative_data=x[:100])
    check = tfnas.verify(report.path, x_test, y_test, model=result.best.model(), latency_runs=2)
    assert check.metric == "mae" and math.isfinite(check.litert_value) and check.micro_value is not None
    # int8 stays close to float on standardised targets: seeds 0-7 of this search gave |micro - float| MAE of
    # 0.0004-0.0041 (mean 0.0019, std 0.0013) on an MAE of 0.57-0.63; 0.02 is over 10 std above the mean
    assert abs(check.micro_value - check.float_value) < 0.02
