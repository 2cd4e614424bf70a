"""`oracle="oneshot"`: supernet, ranking and trials inside `tfnas.search`, within the limits, resumable."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import keras_tuner
import numpy as np
import pytest
import yaml

import tfnas
from tfnas.constraints import Constraints
from tfnas.cost import profile
from tfnas.errors import TfnasInputError
from tfnas.oneshot import Supernet
from tfnas.oneshot import extract
from tfnas.oneshot.extract import InheritedSpace
from tfnas.oneshot.rank import evolve
from tfnas.oneshot.spread import spread
from tfnas.oracles import OneShotOracle
from tfnas.rewards import get_reward
from tfnas.spaces import DSCNN1DSpace
from tfnas.testing.processes import child_env
from tfnas.testing.processes import kill_when
from tfnas.testing.processes import stop
from tfnas.testing.signals import noisy_sines

LIMIT = 6_000
ORACLE = {"name": "oneshot", "supernet_epochs": 2, "num_ranked": 30, "population_size": 10}
PROBED = {**ORACLE, "probe": ("learning_rate",),  # the fine-tunes probe the learning rate (default: the supernet's)
          "tolerance": 0.05}  # the trials spread over the front widened by 5 points (default: the score's sampling error)




def small_space() -> DSCNN1DSpace:
    return DSCNN1DSpace(filters=(8, 16), num_blocks=(1, 2), kernel_sizes=(3, 5), stem_filters=(8, 16))


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    x, y = noisy_sines(300, 0)
    directory = str(tmp_path_factory.mktemp("oneshot"))
    result = tfnas.search(
        x, y, space=small_space(), oracle=dict(PROBED), constraints={"max_macs": LIMIT}, max_trials=8, epochs=2,
        directory=directory, project_name="p", seed=0, verbose=0,
    )
    return result, os.path.join(directory, "p")


def test_search_ranks_subnets_and_trains_the_best_within_the_limits(searched):
    result, project = searched
    # the supernet (2 epochs x 4 sub-networks a step) costs 4 trials of 2 epochs: 4 of the 8 are left
    assert result.oneshot["supernet_trials"] == 4 and result.oneshot["budget_trials"] == 8
    assert len(result.completed) == 4 and result.oneshot["ranked"] == 30
    assert "30 sub-networks ranked" in result.counts()
    assert not {"queue", "probes"} & result.oneshot.keys()  # the oracle's working lists stay in oracle.json
    with open(os.path.join(project, "oneshot", "ranked.json")) as f:
        ranked = json.load(f)
    assert len({json.dumps(r["values"], sort_keys=True) for r in ranked}) == 30  # distinct
    scored = [r for r in ranked if r["score"] is not None]
    assert 0 < len(scored) < 30 and result.oneshot["ranked_feasible"] == len(scored)
    assert all(r["costs"]["macs"] <= LIMIT for r in scored)
    assert all(r["costs"]["macs"] > LIMIT for r in ranked if r["score"] is None)
    frame = result.oneshot["frame"]  # strides and pooling fixed in the supernet, so in every candidate
    assert frame["stem_strides"] != [1] and all(r["values"]["stem_strides"] == frame["stem_strides"][0] for r in ranked)
    for trial in result.completed:  # every proposed candidate meets the limit, measured on the trained model
        assert trial.metrics["macs"] <= LIMIT
        assert (trial.hyperparameters["stem_strides"], trial.hyperparameters["pooling"]) == (
            frame["stem_strides"][0], frame["pooling"][0])
        assert profile(keras.models.load_model(trial.model_path)).macs == trial.metrics["macs"]
    # the trials are the head of the widened front's spread order, then the reward's order (Pareto front first)
    reward = get_reward("pareto").bind("val_accuracy", "max", {"max_macs": LIMIT})
    keys = reward.rank([{"val_accuracy": r["score"], **r["costs"]} for r in scored])
    head = spread(np.array([r["score"] for r in scored]), np.array([[r["costs"]["macs"]] for r in scored]), 0.05)
    order = head + [i for i in sorted(range(len(scored)), key=lambda i: keys[i], reverse=True) if i not in head]
    best, second = (scored[i]["values"] for i in order[:2])
    assert scored[order[0]]["score"] == max(r["score"] for r in scored)
    trials = sorted(result.completed, key=lambda t: int(t.trial_id))
    architecture = [k for k in best if k not in ("learning_rate", "dropout")]
    # the first three train the best-ranked architecture with each learning rate of the space (the probe) ...
    assert all({k: t.hyperparameters[k] for k in architecture} == {k: best[k] for k in architecture} for t in trials[:3])
    assert [t.hyperparameters["learning_rate"] for t in trials[:3]] == [1e-3, 3e-3, 1e-2]
    # ... the fourth the second-ranked one, with the learning rate of the best of them
    assert {k: trials[3].hyperparameters[k] for k in second if k != "learning_rate"} == {
        k: v for k, v in second.items() if k != "learning_rate"}
    top = max(trials[:3], key=lambda t: t.metrics["val_accuracy"])
    assert trials[3].hyperparameters["learning_rate"] == top.hyperparameters["learning_rate"]


def test_resumed_search_neither_retrains_nor_reranks(searched):
    result, project = searched
    ranked_file = os.path.join(project, "oneshot", "ranked.json")
    checkpoint = os.path.join(project, "oneshot", "supernet", "supernet_checkpoint.npz")
    mtimes = [os.stat(p).st_mtime_ns for p in (ranked_file, checkpoint)]
    x, y = noisy_sines(300, 0)
    again = tfnas.search(
        x, y, space=small_space(), oracle=dict(PROBED), constraints={"max_macs": LIMIT}, max_trials=8, epochs=2,
        directory=os.path.dirname(project), project_name="p", seed=0, verbose=0,
    )
    assert [os.stat(p).st_mtime_ns for p in (ranked_file, checkpoint)] == mtimes
    assert [t.trial_id for t in again.completed] == [t.trial_id for t in result.completed]


def test_inherited_space_builds_the_extracted_model():
    space = small_space().configure((40, 1), 3, "classification")
    supernet = Supernet(space)
    x, _ = noisy_sines(64, 1)
    values = {"num_blocks": 2, "block1_filters": 8, "block2_kernel": 5, "stem_filters": 16}
    built = InheritedSpace(supernet, x).build(supernet.resolve(values).hyperparameters())
    expected = extract(supernet, values, x_calibration=x)
    for a, b in zip(built.get_weights(), expected.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_evolution_resumed_from_its_records_ranks_what_the_uninterrupted_run_did():
    space = small_space().configure((40, 1), 3, "classification")
    keras.utils.set_random_seed(0)
    supernet = Supernet(space)
    x, y = noisy_sines(96, 2)
    reward = get_reward("pareto").bind("val_accuracy", "max", {})
    settings = dict(rank_fn=reward.rank, objective="val_accuracy", population_size=4, sample_size=2, seed=3,
                    constraints=Constraints(max_macs=LIMIT))
    whole = evolve(supernet, x[:64], x[64:], y[64:], count=12, **settings)
    half = evolve(supernet, x[:64], x[64:], y[64:], count=6, **settings)
    resumed = evolve(supernet, x[:64], x[64:], y[64:], count=12, done=half, **settings)
    assert [r.values for r in resumed] == [r.values for r in whole]
    assert len({json.dumps(r.values, sort_keys=True) for r in whole}) == 12


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"space": "cnn1d"}, "space='dscnn1d'"),
        ({"max_trials": 4}, "Raise max_trials"),
        ({"oracle": {**ORACLE, "num_ranked": 0}}, "num_ranked must be"),
        ({"oracle": {**ORACLE, "probe": ("num_blocks",)}}, "probe takes training hps"),
        ({"oracle": {**ORACLE, "tolerance": -0.1}}, "tolerance must be"),
    ],
)
def test_bad_settings_are_refused_before_any_training(tmp_path, kwargs, match):
    x, y = noisy_sines(120, 0)
    settings = {"space": small_space(), "oracle": dict(ORACLE), "max_trials": 6, "epochs": 2, **kwargs}
    with pytest.raises(TfnasInputError, match=match):
        tfnas.search(x, y, directory=str(tmp_path), project_name="p", verbose=0, **settings)
    assert not os.path.exists(os.path.join(tmp_path, "p", "oneshot", "supernet"))


def test_oracle_counts_the_supernet_in_trials_of_the_search_epochs():
    oracle = OneShotOracle(max_trials=20, supernet_epochs=30, num_random=2)
    oracle.adopt(epochs=30)
    assert (oracle.supernet_trials(), oracle.max_trials) == (4, 16)
    # default: half the budget's 600 epochs, at 4 sub-networks a step: 75 epochs, 300 single-model epochs
    default = OneShotOracle(max_trials=20)
    default.adopt(epochs=30)
    assert (default.supernet_epochs, default.supernet_trials(), default.max_trials) == (75, 10, 10)
    small = OneShotOracle(max_trials=6)  # half of 180 epochs is under one training: one training of 30 epochs
    small.adopt(epochs=30)
    assert (small.supernet_epochs, small.max_trials) == (30, 2)


def test_shorter_trials_spend_what_the_supernet_left_and_carry_their_epochs():
    # 20 trials x 30 epochs = 600 epochs; the supernet costs 30 x 4 = 120; 480 buy 48 trials of 10 epochs
    oracle = OneShotOracle(max_trials=20, supernet_epochs=30, trial_epochs=10, probe=())
    oracle.adopt(epochs=30)
    assert oracle.max_trials == 48
    hp = keras_tuner.HyperParameters()
    small_space().configure((40, 1), 3, "classification").build(hp)
    oracle.hyperparameters = hp
    oracle.queue = [{**hp.values, "num_blocks": 1}, dict(hp.values)]
    first, second = oracle.propose("0"), oracle.propose("1")
    assert first["num_blocks"] == 1 and second["num_blocks"] == hp.values["num_blocks"]
    assert all((v["tuner/epochs"], v["tuner/initial_epoch"]) == (10, 0) for v in (first, second))
    full = OneShotOracle(max_trials=20, supernet_epochs=30, probe=())
    full.adopt(epochs=30)
    full.hyperparameters, full.queue = hp, [dict(hp.values)]
    assert "tuner/epochs" not in full.propose("0")  # trials of the search's epochs: keras-tuner's default


def test_fine_tunes_take_the_supernets_learning_rate_unless_it_is_probed():
    hp = keras_tuner.HyperParameters()
    small_space().configure((40, 1), 3, "classification").build(hp)  # learning_rate choices 1e-3, 3e-3, 1e-2
    proposed = {}
    for inherit, rate in ((True, 0.004), (True, 0.02), (False, 0.004)):
        oracle = OneShotOracle(max_trials=20, supernet_epochs=1, inherit=inherit)
        oracle.adopt(epochs=2)
        oracle.hyperparameters, oracle.report = hp, {"learning_rate": rate}
        oracle.queue = [{**hp.values, "learning_rate": 1e-3}]
        oracle.probes = oracle._probes()
        proposed[inherit, rate] = [oracle.propose(str(i)) for i in range(3)]
    # fine-tunes: no probe; the space's choice nearest the supernet's rate (on a log scale)
    assert proposed[True, 0.004][0]["learning_rate"] == 3e-3 and proposed[True, 0.004][1:] == [None, None]
    assert proposed[True, 0.02][0]["learning_rate"] == 1e-2
    # from scratch: the probe trains the top sub-network at each rate
    assert [v["learning_rate"] for v in proposed[False, 0.004]] == [1e-3, 3e-3, 1e-2]


def test_trials_longer_than_the_budget_left_are_refused():
    oracle = OneShotOracle(max_trials=5, supernet_epochs=2, trial_epochs=9)
    with pytest.raises(TfnasInputError, match="leaving no trial of 9 epochs"):
        oracle.adopt(epochs=2)  # 10 epochs - 8 for the supernet leave 2


SCRIPT = """
import sys, numpy as np, tfnas
sys.path.insert(0, {tests!r})
from test_oneshot_oracle import ORACLE, small_space
from tfnas.testing.signals import noisy_sines
x, y = noisy_sines(300, 0)
tfnas.search(x, y, space=small_space(), oracle={{**ORACLE, "supernet_epochs": 6}}, max_trials=13, epochs=2,
             directory={directory!r}, project_name="p", seed=0, verbose=0)
print("DONE")
"""


@pytest.mark.slow
def test_sigkill_during_supernet_training_then_resume(tmp_path):
    script = SCRIPT.format(tests=os.path.dirname(__file__), directory=str(tmp_path))
    history = tmp_path / "p" / "oneshot" / "supernet" / "supernet_history.yaml"
    first = subprocess.Popen([sys.executable, "-c", script], env=child_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.STDOUT, start_new_session=True)

    def two_epochs_saved() -> bool:
        return history.exists() and yaml.safe_load(history.read_text() or "{}").get("epochs", 0) >= 2

    try:
        if not kill_when(first, two_epochs_saved):
            pytest.fail(f"the supernet never checkpointed 2 epochs (exit {first.poll()})")
    finally:
        stop([first])
    killed_at = yaml.safe_load(history.read_text())["epochs"]
    assert 2 <= killed_at < 6 and not (tmp_path / "p" / "oneshot" / "ranked.json").exists()
    second = subprocess.run([sys.executable, "-c", script], env=child_env(), capture_output=True, text=True, timeout=600)
    assert second.returncode == 0 and "DONE" in second.stdout, second.stdout[-2000:] + second.stderr[-2000:]
    resumed = yaml.safe_load(history.read_text())
    assert resumed["epochs"] == 6 and resumed["resumed_from"] == killed_at
    result = tfnas.SearchResult.load(str(tmp_path / "p"))
    assert result.oneshot["supernet_epochs"] == 6 and len(result.completed) == 13 - 12
