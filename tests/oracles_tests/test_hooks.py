"""Declared hooks: each optional hook of a strategy, space or reward has a default on its base class."""

from __future__ import annotations

import ast
import pathlib

import keras_tuner as kt

import tfnas
from tfnas import _kt_compat
from tfnas.oracles import HyperbandOracle
from tfnas.oracles import MultiObjectiveOracle
from tfnas.rewards import Reward
from tfnas.spaces import FamilySpace
from tfnas.spaces import MLPSpace
from tfnas.spaces.resolve import initial_points_of
from tfnas.spaces.resolve import summary_keys_of

PACKAGE = pathlib.Path(tfnas.__file__).parent


def test_an_oracle_without_hooks_of_its_own_keeps_the_hypermodel():
    oracle, space = MultiObjectiveOracle(max_trials=2), MLPSpace()
    assert oracle.prepare(space, None, None, validation_data=None, training=None, directory="unused") is space
    assert oracle.attach(space, None, directory="unused") is space
    assert oracle.identifying_values({"units1": 8}) == {"units1": 8}


def test_hyperband_candidates_are_the_same_whatever_their_schedule():
    oracle = HyperbandOracle(max_epochs=9, max_trials=4)
    values = {"units1": 8, "learning_rate": 0.01}
    scheduled = {**values, "tuner/epochs": 3, "tuner/initial_epoch": 0, "tuner/bracket": 1, "tuner/round": 0}
    assert _kt_compat.values_hash(oracle, scheduled) == _kt_compat.values_hash(oracle, values)
    promoted = {**scheduled, "tuner/trial_id": "0"}  # a promotion differs by its parent
    assert _kt_compat.values_hash(oracle, promoted) != _kt_compat.values_hash(oracle, values)


def test_a_plain_hypermodel_gets_the_space_hooks_defaults():
    class Plain(kt.HyperModel):
        def build(self, hp):
            raise AssertionError("not built here")

    assert initial_points_of(Plain()) == [] and summary_keys_of(Plain()) is None
    mlp = MLPSpace()
    assert summary_keys_of(mlp) == tuple(MLPSpace.summary_keys) and initial_points_of(mlp) == []
    family = FamilySpace(members={"a": MLPSpace(), "b": MLPSpace(units=(64,))}).configure((8,), 3, "classification")
    assert [p["family"] for p in initial_points_of(family)] == ["a", "b"]


def test_a_reward_reads_the_constraints_in_its_setup_hook():
    class PerMac(Reward):
        def setup(self, constraints):
            self.scale = constraints["max_macs"]

        def __call__(self, metrics):
            return self.quality_value(metrics) - metrics["macs"] / self.scale

    reward = PerMac().bind("val_accuracy", "max", {"max_macs": 1000})
    assert reward({"val_accuracy": 0.9, "macs": 500}) == 0.9 - 0.5


def test_only_the_compat_module_touches_keras_tuner_privates_in_the_tuner_and_oracles():
    privates = {"_oracle", "_compute_values_hash", "_save_trial", "_tried_so_far", "_retry_queue", "_seed_state",
                "_get_trial_dir", "_get_oracle_fname", "_get_tuner_fname", "_run_times", "_display", "_record_values"}
    for path in [PACKAGE / "tuner.py", *sorted((PACKAGE / "oracles").glob("*.py"))]:
        tree = ast.parse(path.read_text())
        names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        names |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert not names & privates, f"{path.name} touches {sorted(names & privates)}"
