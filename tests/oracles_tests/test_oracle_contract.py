"""Every strategy obeys the oracle contract (budget, no duplicates, constraints, ranking, resume)."""

import functools

import keras_tuner as kt
import pytest

from tfnas.errors import InfeasibleSearchError
from tfnas.oracles import ORACLES
from tfnas.oracles import EvolutionOracle
from tfnas.oracles import MultiObjectiveOracle
from tfnas.testing.oracle_contract import TRIAL_BASED
from tfnas.testing.oracle_contract import check_oracle_contract
from tfnas.testing.oracle_contract import check_screened_candidates_not_proposed_again
from tfnas.testing.oracle_contract import drive
from tfnas.testing.oracle_contract import make_tuner


@pytest.mark.parametrize("name", TRIAL_BASED)
def test_contract(name, tmp_path):
    factory = functools.partial(ORACLES[name], max_epochs=9) if name == "hyperband" else ORACLES[name]
    check_oracle_contract(factory, str(tmp_path))


def test_user_subclass_only_writes_propose(tmp_path):
    class SmallestFirst(MultiObjectiveOracle):
        def propose(self, trial_id):
            return self.complete_values({"units": 4 * (len(self.trials) + 1), "depth": 1})

    oracle = SmallestFirst(max_trials=3, constraints={"max_macs": 10_000})
    trials = drive(make_tuner(oracle, str(tmp_path)))
    assert [t.hyperparameters.values["units"] for t in trials] == [4, 8, 12]


def test_impossible_constraints_raise_before_training_with_smallest_cost(tmp_path):
    oracle = EvolutionOracle(max_trials=5, constraints={"max_macs": 10}, max_draws=20, seed=0)
    tuner = make_tuner(oracle, str(tmp_path))
    with pytest.raises(InfeasibleSearchError, match=r"smallest macs seen \d+ vs max_macs 10"):
        drive(tuner)
    assert oracle.infeasible_count == 20
    assert not oracle.trials  # nothing was created, so nothing was trained


def test_infeasible_candidates_do_not_count_toward_max_trials(tmp_path):
    oracle = EvolutionOracle(max_trials=6, constraints={"max_macs": 400}, seed=3)
    trials = drive(make_tuner(oracle, str(tmp_path)))
    assert len(trials) == 6
    assert oracle.infeasible_count > 0
    assert all(t.status == "COMPLETED" for t in trials)


def test_mutation_changes_exactly_one_hyperparameter(tmp_path):
    oracle = EvolutionOracle(max_trials=20, seed=0)
    make_tuner(oracle, str(tmp_path))
    parent = {"units": 32, "depth": 1}
    changed = 0
    for _ in range(30):
        child = oracle.mutate(parent)
        diff = {k for k in set(parent) | set(child) if parent.get(k) != child.get(k)}
        # depth 1 -> 2 activates units2, so a change of depth brings one new value with it
        assert diff in ({"units"}, {"depth", "units2"}), diff
        changed += 1
    assert changed == 30


def test_evolution_children_come_from_the_population(tmp_path):
    oracle = EvolutionOracle(max_trials=12, population_size=4, sample_size=2, seed=5)
    trials = drive(make_tuner(oracle, str(tmp_path)))
    seen = [t.hyperparameters.values for t in trials]
    for i, values in enumerate(seen[4:], start=4):
        parents = seen[max(0, i - 4) : i]  # only the youngest 4 trials can be parents
        distance = min(sum(values.get(k) != p.get(k) for k in set(values) | set(p)) for p in parents)
        assert distance <= 2, f"trial {i} is not one mutation away from the population"


def test_state_round_trip(tmp_path):
    oracle = EvolutionOracle(max_trials=4, constraints={"max_macs": 600}, seed=2)
    drive(make_tuner(oracle, str(tmp_path)))
    state = oracle.get_state()
    assert state["tfnas"]["constraints"] == {"max_macs": 600}
    copy = EvolutionOracle(max_trials=4, constraints={"max_macs": 600}, seed=2)
    copy.set_state(state)
    assert copy.get_state()["tfnas"] == state["tfnas"]


def test_plain_keras_tuner_oracle_fails_over_limit_candidates_as_trials(tmp_path):
    import numpy as np

    from tfnas.testing.oracle_contract import tiny_space
    from tfnas.tuner import EdgeTuner

    oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective("val_accuracy", "max"), max_trials=3, seed=0)
    tuner = EdgeTuner(tiny_space, oracle, constraints={"max_macs": 1}, directory=str(tmp_path), project_name="plain")
    x = np.random.rand(64, 16).astype("float32")
    y = np.random.randint(0, 4, 64)
    with pytest.raises(RuntimeError, match="max_macs 1"):
        tuner.search(x, y, validation_data=(x, y), epochs=1, verbose=0)
    assert all(t.status == "FAILED" for t in oracle.trials.values())


def test_seed_zero_is_reproducible(tmp_path):
    """keras-tuner turns seed=0 into a random seed (`seed or randint`); tfnas keeps it."""
    runs = []
    for run in range(2):
        oracle = EvolutionOracle(max_trials=6, seed=0)
        assert oracle.seed == 0
        trials = drive(make_tuner(oracle, str(tmp_path / str(run))))
        runs.append([t.hyperparameters.values for t in trials])
    assert runs[0] == runs[1]


@pytest.mark.parametrize("name", TRIAL_BASED)
def test_screened_candidates_are_not_proposed_again(name, tmp_path):
    factory = functools.partial(ORACLES[name], max_epochs=9) if name == "hyperband" else ORACLES[name]
    check_screened_candidates_not_proposed_again(factory, str(tmp_path))
