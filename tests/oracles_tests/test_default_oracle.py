"""The default strategy is the one the strategy benchmark measured best (issue 4's rule), and it is what users get."""

import inspect
import json
import os
import statistics

import keras_tuner as kt
import pytest

from tfnas.app.config import parse_config
from tfnas.app.pipeline import search_kwargs
from tfnas.oracles import DEFAULT_ORACLE
from tfnas.oracles import ORACLES
from tfnas.oracles.resolve import get_oracle
from tfnas.search import search
from tfnas.testing.oracle_contract import TRIAL_BASED

# Committed with the benchmark (benchmarks/bench_strategies.py): the test reads it, it never skips.
RESULTS = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "results", "bench_strategies_mnist1d.json")


def test_default_oracle_has_the_best_median_hypervolume_on_mnist1d():
    with open(RESULTS) as f:
        results = json.load(f)
    rows = {row["method"]: row for row in results["table"]}
    # every strategy and baseline; "+naswot" variants are not options
    per_seed = {method: hv for method, hv in results["hv_per_seed"].items() if "+" not in method}
    assert {f"tfnas:{name}" for name in ORACLES} <= set(per_seed), "a registered strategy is missing from the benchmark"
    assert all(set(hv) == set(per_seed[f"tfnas:{DEFAULT_ORACLE}"]) and len(hv) >= 5 for hv in per_seed.values())
    medians = {method: statistics.median(hv.values()) for method, hv in per_seed.items()}
    for method, median in medians.items():
        assert rows[method]["median_hv"] == pytest.approx(median, abs=1e-4), f"{method}: the table disagrees with its seeds"
    # The one-shot oracles need the space their supernet covers (DS-CNN 1-D), so neither can be every search's default.
    general = {m: v for m, v in medians.items() if m not in {f"tfnas:{n}" for n in ORACLES if n not in TRIAL_BASED}}
    best = max(general.values())
    assert medians[f"tfnas:{DEFAULT_ORACLE}"] == best, (
        f"{[m for m, v in medians.items() if v == best]} beat the default {DEFAULT_ORACLE} on median hypervolume"
    )
    assert best / medians["keras-tuner:random"] >= 1.05
    assert medians.keys() - general.keys() == {"tfnas:oneshot", "tfnas:dnas"}


def test_search_and_config_default_to_that_strategy():
    search_default = inspect.signature(search).parameters["oracle"].default
    config_default = search_kwargs(parse_config({"data": "digits"}))["oracle"]  # what `tfnas run` passes to search
    for default in (search_default, config_default):
        oracle = get_oracle(default, objective=kt.Objective("val_accuracy", "max"), max_trials=8)
        assert type(oracle) is ORACLES[DEFAULT_ORACLE], f"{default!r} builds {type(oracle).__name__}"
