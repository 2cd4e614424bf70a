"""The default strategy is the one the strategy benchmark measured best (issue 4's rule)."""

import json
import os

import pytest

from tfnas.oracles import DEFAULT_ORACLE
from tfnas.oracles import ORACLES

RESULTS = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "results", "bench_strategies_mnist1d.json")


def test_default_oracle_has_the_best_median_hypervolume_on_mnist1d():
    if not os.path.exists(RESULTS):
        pytest.skip("benchmarks/results is not part of this checkout")
    with open(RESULTS) as f:
        rows = {row["method"]: row for row in json.load(f)["table"]}
    default = rows[f"tfnas:{DEFAULT_ORACLE}"]
    assert DEFAULT_ORACLE in ORACLES
    for method, row in rows.items():
        if "+" not in method:  # every strategy and baseline; "+naswot" variants are not options
            assert default["median_hv"] >= row["median_hv"], f"{method} beats the default {DEFAULT_ORACLE}"
    assert default["vs_keras_tuner_random"] >= 1.05
