"""Contract checks every tfnas strategy must pass, reused by tests/oracles_tests (Optuna-style).

The search loop is driven by hand, without training: candidates are really
built and profiled (so constraints are checked on real cost), and the
"validation accuracy" is a made-up smooth function of the hyperparameters.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

import keras
import keras_tuner as kt

from tfnas.oracles import ORACLES
from tfnas.oracles.base import MultiObjectiveOracle
from tfnas.oracles.screen import CostScreen
from tfnas.tuner import CandidatePricer
from tfnas.tuner import EdgeTuner

# The strategies that propose from trials alone, which the contract drives by hand. An oracle with a `prepare`
# step of its own (the one-shot search: it proposes only what its trained supernet ranked) has its own tests, on real data.
TRIAL_BASED = sorted(name for name, cls in ORACLES.items() if cls.prepare is MultiObjectiveOracle.prepare)


class TinySpace(kt.HyperModel):
    """`tiny_space` as a keras-tuner HyperModel."""

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        return tiny_space(hp)


def tiny_space(hp: kt.HyperParameters) -> keras.Model:
    """A small MLP space with one conditional hyperparameter (16 inputs, 4 classes)."""
    inputs = keras.Input((16,))
    x = keras.layers.Dense(hp.Int("units", 4, 64, step=4), activation="relu")(inputs)
    depth = hp.Choice("depth", [1, 2])
    with hp.conditional_scope("depth", [2]):
        if depth == 2:
            x = keras.layers.Dense(hp.Int("units2", 4, 32, step=4), activation="relu")(x)
    outputs = keras.layers.Dense(4, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def fake_accuracy(values: dict[str, Any]) -> float:
    """More units means more accuracy, with diminishing returns."""
    units = values["units"] + values.get("units2", 0)
    return 1.0 - 1.0 / (1.0 + units / 16.0)


def make_tuner(oracle: kt.Oracle, directory: str, overwrite: bool = True, pricer: CandidatePricer | None = None) -> EdgeTuner:
    """An EdgeTuner over `tiny_space` that is never asked to train."""
    return EdgeTuner(TinySpace(), oracle, directory=directory, project_name="contract", overwrite=overwrite, pricer=pricer)


def drive(tuner: EdgeTuner, accuracy: Callable[[dict], float] = fake_accuracy, limit: int = 1000) -> list:
    """Runs the oracle's create/update/end loop until it stops; returns the created trials."""
    oracle = tuner.oracle
    created = []
    for _ in range(limit):
        trial = oracle.create_trial("tuner0")
        if trial.status == kt.engine.trial.TrialStatus.STOPPED:
            break
        tuner.on_trial_begin(trial)
        values = trial.hyperparameters.values
        costs = tuner.pricer(trial.hyperparameters)
        oracle.update_trial(trial.trial_id, {"val_accuracy": accuracy(values), **costs})
        trial.status = kt.engine.trial.TrialStatus.COMPLETED
        tuner.on_trial_end(trial)  # ends the trial in the oracle and saves the tuner, as keras-tuner does
        created.append(trial)
    return created


class _WideScreen(CostScreen):
    """A cost screen that skips every candidate of 32 units or more and records what it skipped."""

    def __init__(self) -> None:
        super().__init__({})
        self.skipped: list[tuple] = []

    def likely_infeasible(self, values: Mapping[str, Any]) -> bool:
        skip = values["units"] >= 32
        if skip:
            self.skipped.append(tuple(sorted(values.items())))
        return skip


def check_oracle_contract(oracle_factory: Callable[..., MultiObjectiveOracle], directory: str) -> None:
    """Asserts the contract: exact budget, no duplicates, no trial over a limit, Pareto-ranked best, resumable."""
    built = []
    pricer = CandidatePricer(TinySpace())

    def counting(hps: kt.HyperParameters) -> Any:
        built.append(tuple(sorted(hps.values.items())))
        return pricer(hps)

    oracle = oracle_factory(max_trials=8, constraints={"max_macs": 800}, seed=1, cost_function=counting)
    tuner = make_tuner(oracle, directory, pricer=pricer)
    trials = drive(tuner)
    assert len(set(built)) == len(built), "a candidate was built twice: a rejected one must not be proposed again"
    assert len(trials) == 8, f"expected exactly max_trials=8 trials, got {len(trials)}"
    hashes = {tuple(sorted(t.hyperparameters.values.items())) for t in trials}
    assert len(hashes) == len(trials), "the oracle proposed a duplicate"
    for t in trials:
        macs = t.metrics.get_last_value("macs")
        assert macs <= 800, f"trial {t.trial_id} has {macs} MACs over max_macs=800"
    assert oracle.infeasible_count > 0, "the space has infeasible candidates: some must have been skipped"
    best = oracle.get_best_trials(3)
    keys = oracle.reward.rank([oracle.trial_metrics(t) for t in best])
    assert keys == sorted(keys, reverse=True), "get_best_trials is not ranked best first"

    # Resume: a new oracle of the same kind reloads the state and finishes at the new budget.
    resumed = oracle_factory(max_trials=10, constraints={"max_macs": 800}, seed=1)
    tuner2 = make_tuner(resumed, directory, overwrite=False)
    assert len(resumed.trials) == 8
    assert resumed.infeasible_count == oracle.infeasible_count
    assert resumed.rng_state == oracle.rng_state
    more = drive(tuner2)
    assert len(more) == 2, f"a resumed search must run only the missing trials, ran {len(more)}"
    all_values = [tuple(sorted(t.hyperparameters.values.items())) for t in resumed.trials.values()]
    assert len(set(all_values)) == 10, "the resumed oracle repeated a trial from before the resume"


def check_screened_candidates_not_proposed_again(oracle_factory: Callable[..., MultiObjectiveOracle], directory: str) -> None:
    """Asserts that a candidate the cost screen skipped is never proposed again and costs no trial.

    The screen is replaced by a fixed rule (every candidate with `units >= 32`
    is "predicted over the limit"), so half the space is skipped: a strategy
    that keeps proposing its favourite skipped candidate would stall.
    """
    oracle = oracle_factory(max_trials=24, constraints={"max_macs": 10**6}, seed=2)
    tuner = make_tuner(oracle, directory)
    oracle.screen = screen = _WideScreen()
    screened = screen.skipped
    trials = drive(tuner)
    assert len(trials) == 24, f"expected exactly max_trials=24 trials, got {len(trials)}: skipped candidates stalled the search"
    assert all(t.hyperparameters.values["units"] < 32 for t in trials)
    assert len(set(screened)) == len(screened), "a candidate the screen skipped was proposed again"
    assert oracle.screened_count == len(screened)
