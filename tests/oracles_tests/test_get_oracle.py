"""`get_oracle`: the one way an oracle is made for a search, and how a user's instance adopts the search."""

from __future__ import annotations

import os
import re

import keras_tuner as kt
import pytest

from tfnas.errors import TfnasInputError
from tfnas.oracles import HyperbandOracle
from tfnas.oracles import MultiObjectiveOracle
from tfnas.oracles import PSOOracle
from tfnas.oracles import RandomOracle
from tfnas.oracles import get_oracle
from tfnas.testing.oracle_contract import TinySpace
from tfnas.testing.oracle_contract import drive
from tfnas.testing.oracle_contract import make_tuner
from tfnas.testing.processes import CHECKOUT
from tfnas.tuner import CandidatePricer


def test_a_users_instance_adopts_the_search_and_its_cost_screen_acts(tmp_path):
    pricer = CandidatePricer(TinySpace())
    mine = RandomOracle(max_trials=30, seed=0)  # built without limits, as a user writes it
    oracle = get_oracle(mine, objective="val_accuracy", constraints={"max_macs": 800}, cost_function=pricer)
    assert oracle is mine and oracle.cost_function is pricer
    assert oracle.screen.limits == {"macs": 800}
    assert oracle.reward.quality == "val_accuracy"
    trials = drive(make_tuner(oracle, str(tmp_path), pricer=pricer))
    assert len(trials) == 30 and all(t.metrics.get_last_value("macs") <= 800 for t in trials)
    assert oracle.screened_count > 0, "the cost screen never skipped a draw: it was built before the limits were adopted"


def test_own_settings_win_and_regression_objective_is_adopted():
    own = RandomOracle(objective="val_loss", constraints={"max_macs": 50})
    get_oracle(own, objective=kt.Objective("val_accuracy", "max"), constraints={"max_macs": 800})
    assert own.objective.name == "val_loss" and own.constraints.max_macs == 50
    plain = RandomOracle()
    get_oracle(plain, objective=kt.Objective("val_loss", "min"))
    assert (plain.objective.name, plain.objective.direction) == ("val_loss", "min")
    assert plain.reward.quality == "val_loss" and plain.reward.direction == "min"


def test_built_by_name_with_the_search_settings():
    oracle = get_oracle({"name": "pso", "num_particles": 4}, objective="val_accuracy", max_trials=16, seed=3)
    assert isinstance(oracle, PSOOracle) and oracle.num_particles == 4 and oracle.max_trials == 16 and oracle.seed == 3
    hyperband = get_oracle("hyperband", objective="val_accuracy", epochs=9)
    assert isinstance(hyperband, HyperbandOracle) and hyperband.max_epochs == 9
    mine = HyperbandOracle()
    get_oracle(mine, objective="val_accuracy", epochs=7)
    assert mine.max_epochs == 7


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("psoo", r"Unknown oracle 'psoo'"),
        ({"name": "pso", "num_partcles": 4}, r"'oracle.num_partcles'.*did you mean 'oracle.num_particles'"),
        ({"name": "pso", "num_particles": 1}, r"num_particles must be >= 2"),
        ({"name": "evolution", "population_size": 1}, r"population_size"),
        ({"name": "pso", "constraints": {}}, r"Pass constraints to the search"),
    ],
)
def test_bad_specs_are_input_errors(spec, message):
    with pytest.raises(TfnasInputError, match=message):
        get_oracle(spec, objective="val_accuracy")


def test_the_guide_custom_oracle_runs_its_whole_budget(tmp_path):
    """The custom-oracle guide's example must be a strategy that works, not one that stalls on repeats."""
    with open(os.path.join(CHECKOUT, "docs", "guides", "custom.md")) as f:
        guide = f.read()
    code = re.search(r"```python\n(class MutateFrontOracle.*?)\ntfnas\.search", guide, re.S).group(1)
    namespace = {"tfnas": __import__("tfnas")}
    exec(code, namespace)  # noqa: S102  (the guide's own code)
    cls = namespace["MutateFrontOracle"]
    assert issubclass(cls, MultiObjectiveOracle)
    pricer = CandidatePricer(TinySpace())
    oracle = cls(max_trials=12, seed=0, constraints={"max_macs": 2000}, cost_function=pricer)
    trials = drive(make_tuner(oracle, str(tmp_path), pricer=pricer))
    assert len(trials) == 12
    assert len({tuple(sorted(t.hyperparameters.values.items())) for t in trials}) == 12
