"""Every strategy searches a family space: values only for the chosen family, no duplicates, several families."""

from __future__ import annotations

import functools

import pytest

from tfnas.oracles import ORACLES
from tfnas.spaces import ImageSpace
from tfnas.testing.oracle_contract import TRIAL_BASED
from tfnas.testing.oracle_contract import drive
from tfnas.tuner import EdgeTuner

FAMILIES = ("cnn", "mlp", "mobilenet")


def _accuracy(values: dict) -> float:
    """A made-up score that prefers the CNN family and more filters, so strategies have something to climb."""
    bonus = {"cnn": 0.2, "mlp": 0.1, "mobilenet": 0.0}[values["family"]]
    return 0.5 + bonus + 0.01 * len(values)


@pytest.mark.parametrize("name", TRIAL_BASED)
def test_strategy_handles_conditional_families(name, tmp_path):
    factory = functools.partial(ORACLES[name], max_epochs=9) if name == "hyperband" else ORACLES[name]
    oracle = factory(max_trials=12, constraints={"max_macs": 20_000}, seed=3)
    space = ImageSpace().configure((8, 8, 1), 10, "classification")
    tuner = EdgeTuner(space, oracle, directory=str(tmp_path), project_name="families", overwrite=True)
    trials = drive(tuner, accuracy=_accuracy)
    assert len(trials) == 12
    registered = oracle.get_space()
    seen = set()
    for trial in trials:
        values = {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}
        family = values["family"]
        # every value belongs to an active hp: nothing of another family rides along
        assert not [k for k in values if k.split("_")[0] in set(FAMILIES) - {family}], values
        hps = registered.copy()
        hps.values = dict(values)
        for hp in registered.space:
            if hp.name in values:
                assert hps.is_active(hp), hp.name
        key = tuple(sorted(values.items()))
        assert name == "hyperband" or key not in seen, "a candidate was trained twice"
        seen.add(key)
    assert len({t.hyperparameters.values["family"] for t in trials}) >= 2, "the strategy never left one family"
    assert all(t.metrics.get_last_value("macs") <= 20_000 for t in trials)
