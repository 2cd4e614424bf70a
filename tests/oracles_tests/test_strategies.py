"""What each strategy does beyond the shared contract (tests/oracles_tests/test_oracle_contract.py)."""

import keras_tuner as kt
import numpy as np
import pytest

from tfnas.oracles import BayesianOracle
from tfnas.oracles import GreedyOracle
from tfnas.oracles import HyperbandOracle
from tfnas.oracles import NSGA2Oracle
from tfnas.oracles import PSOOracle
from tfnas.oracles import RandomOracle
from tfnas.oracles import RLOracle
from tfnas.oracles.encoding import choices
from tfnas.oracles.encoding import decode
from tfnas.oracles.encoding import encode
from tfnas.oracles.encoding import is_tunable
from tfnas.testing.oracle_contract import drive
from tfnas.testing.oracle_contract import fake_accuracy
from tfnas.testing.oracle_contract import make_tuner


def test_encoding_round_trips_every_legal_point(tmp_path):
    oracle = RandomOracle(max_trials=5, seed=0)
    make_tuner(oracle, str(tmp_path))._populate_initial_space()
    space = oracle.hyperparameters.space
    for _ in range(20):
        values = oracle.random_values()
        assert decode(space, encode(space, values)) == values
    # any point of the cube decodes to legal values of the active hyperparameters only
    values = decode(space, np.ones(len(space)))
    assert values["units"] == 64 and values["depth"] == 2 and "units2" in values
    assert "units2" not in decode(space, np.zeros(len(space)))
    assert choices(space[0]) == sorted(set(choices(space[0])))  # Int(4, 64, step 4) cut into legal values


def _moved(oracle, best, values):
    """The hyperparameter `values` changes in `best` when it is one move of greedy's, else None.

    A move changes one value; the conditional values it switches on (drawn)
    or off follow, so the names present are exactly the active ones after it.
    """
    moved = [k for k in set(best) & set(values) if best[k] != values[k]]
    if len(moved) != 1 or set(oracle.complete_values({**best, moved[0]: values[moved[0]]})) != set(values):
        return None
    return moved[0]


def _moves(oracle, best):
    """Every `(name, value)` one move of greedy's can give `best`: each active tunable hyperparameter, each other value."""
    hps = oracle.hyperparameters.copy()
    hps.values = dict(best)
    active = [hp for hp in hps.space if hps.is_active(hp) and is_tunable(hp)]
    return {(hp.name, option) for hp in active for option in choices(hp) if option != best[hp.name]}


def test_greedy_changes_one_hyperparameter_of_the_best_trial(tmp_path):
    oracle = GreedyOracle(max_trials=40, num_initial_points=4, seed=0)
    tuner = make_tuner(oracle, str(tmp_path))
    trials = drive(tuner)
    restarts = 0
    for i in range(4, len(trials)):
        before = trials[:i]
        best = oracle.rank_trials(before)[0].hyperparameters.values
        values = trials[i].hyperparameters.values
        if _moved(oracle, best, values) is None:
            # the documented restart: only at a local optimum, every move of the best already tried
            tried = {(k, t.hyperparameters.values[k]) for t in before if (k := _moved(oracle, best, t.hyperparameters.values))}
            untried = _moves(oracle, best) - tried
            assert not untried, f"trial {i} is neither one move of the best nor a restart at a local optimum: {untried}"
            restarts += 1
    assert restarts, "40 trials reach a local optimum of the tiny space (about 24 moves): greedy must restart, not stop"


def test_nsga2_children_mix_parents_from_the_front(tmp_path):
    oracle = NSGA2Oracle(max_trials=20, population_size=6, seed=0)
    trials = drive(make_tuner(oracle, str(tmp_path)))
    for i in range(6, len(trials)):
        parents = oracle.rank_trials(trials[:i])[:6]
        child = trials[i].hyperparameters.values
        # each value comes from a parent unless mutated: at most a couple of values are new
        novel = {k for k in child if all(p.hyperparameters.values.get(k) != child[k] for p in parents)}
        assert len(novel) <= 2, (i, novel)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bayesian_never_repeats_and_beats_random_after_its_start(tmp_path, seed):
    runs = {}
    for name, factory in (("bayesian", BayesianOracle), ("random", RandomOracle)):
        oracle = factory(max_trials=14, seed=seed, reward=lambda m: m["val_accuracy"])
        trials = drive(make_tuner(oracle, str(tmp_path / name)))
        values = [tuple(sorted(t.hyperparameters.values.items())) for t in trials]
        assert len(set(values)) == len(values)
        runs[name] = [fake_accuracy(t.hyperparameters.values) for t in trials]
    # both start from the same 4 random points; then the GP's 10 proposals on a smooth function beat random's.
    # The GP's linear algebra may round apart on another CPU and change a proposal, so the margin is any seed's:
    # seeds 0-9 gave +0.040 to +0.209 (mean 0.133, std 0.057), two of them within 0.025 of the +0.03 asserted before.
    assert runs["bayesian"][:3] == runs["random"][:3]
    assert np.mean(runs["bayesian"][4:]) > np.mean(runs["random"][4:])


def test_bayesian_skips_a_rejected_proposal_within_the_step(tmp_path):
    oracle = BayesianOracle(max_trials=8, num_initial_points=2, seed=0)
    drive(make_tuner(oracle, str(tmp_path)), limit=3)
    first = oracle.propose("next")
    second = oracle.propose("next")  # the base class asks again when `first` was a repeat or infeasible
    assert first != second


def test_rl_policy_learns_the_rewarded_value(tmp_path):
    oracle = RLOracle(max_trials=30, seed=0, learning_rate=1.0, reward=lambda m: m["val_accuracy"])
    drive(make_tuner(oracle, str(tmp_path)), accuracy=lambda v: 1.0 if v["depth"] == 2 else 0.0)
    values, p = oracle.policy()["depth"]
    assert p[values.index(2)] > 0.8, p
    late = [t.hyperparameters.values["depth"] for t in list(oracle.trials.values())[-10:]]
    assert late.count(2) >= 7


def test_pso_state_survives_a_resume(tmp_path):
    oracle = PSOOracle(max_trials=12, num_particles=3, seed=0)
    drive(make_tuner(oracle, str(tmp_path)))
    assert set(oracle.members.values()) == {0, 1, 2}
    assert oracle.velocities, "particles that moved have a velocity"
    resumed = PSOOracle(max_trials=12, num_particles=3, seed=0)
    make_tuner(resumed, str(tmp_path), overwrite=False)
    assert resumed.members == oracle.members
    assert resumed.velocities == {k: pytest.approx(v) for k, v in oracle.velocities.items()}


def test_hyperband_uses_keras_tuner_bracket_sizes():
    for max_epochs in (3, 9, 10, 27, 30):
        ours = HyperbandOracle(max_epochs=max_epochs, factor=3)
        theirs = kt.oracles.HyperbandOracle(objective="val_accuracy", max_epochs=max_epochs, factor=3)
        assert ours.num_brackets() == theirs._get_num_brackets()
        for s in range(ours.num_brackets()):
            for r in range(s + 1):
                assert ours.size(s, r) == theirs._get_size(s, r)
                assert ours.epochs(s, r) == theirs._get_epochs(s, r)


def test_hyperband_promotes_the_non_dominated_set(tmp_path):
    oracle = HyperbandOracle(max_trials=14, max_epochs=9, factor=3, seed=0)
    tuner = make_tuner(oracle, str(tmp_path))
    trials = drive(tuner)
    first_round = [t for t in trials if _bracket_round(t) == (0, 0)]
    promoted = [t for t in trials if _bracket_round(t) == (0, 1)]
    assert len(first_round) == oracle.size(2, 0) == 9 and len(promoted) == oracle.size(2, 1) == 3
    assert all(
        t.hyperparameters.values["tuner/epochs"] == 3 and t.hyperparameters.values["tuner/initial_epoch"] == 1 for t in promoted
    )
    parents = {t.hyperparameters.values["tuner/trial_id"] for t in promoted}
    front = {t.trial_id for t in oracle.rank_trials(first_round)[:3]}
    assert parents == front
    # accuracy vs MACs: the cheapest model of the round is non-dominated, so it is promoted even if least accurate
    cheapest = min(first_round, key=lambda t: t.metrics.get_last_value("macs"))
    assert cheapest.trial_id in parents


@pytest.mark.slow
def test_hyperband_search_warm_starts_promotions(tmp_path, digits):
    import tfnas

    (x, y), _ = digits
    result = tfnas.search(
        x[:400], y[:400], oracle="hyperband", max_trials=4, epochs=3, directory=str(tmp_path), seed=0, verbose=0,
        space=tfnas.spaces.MobileNetSpace(num_stages=(1,), filters=(8,)),
    )
    promoted = [c for c in result.completed if c.hyperparameters.get("tuner/trial_id")]
    assert promoted, "a 3-epoch Hyperband promotes after its first round of 3 one-epoch trials"
    for c in promoted:
        parent = result.candidate(c.hyperparameters["tuner/trial_id"])
        assert {k: v for k, v in c.hyperparameters.items() if not k.startswith("tuner/")} == {
            k: v for k, v in parent.hyperparameters.items() if not k.startswith("tuner/")
        }
        # counted on from the parent
        assert c.metrics["epochs"] == c.hyperparameters["tuner/epochs"] > c.hyperparameters["tuner/initial_epoch"]


def _bracket_round(trial):
    """A Hyperband trial's (bracket, round)."""
    return trial.hyperparameters.values["tuner/bracket"], trial.hyperparameters.values["tuner/round"]
