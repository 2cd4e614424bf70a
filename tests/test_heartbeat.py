"""A distributed worker killed for good: the chief re-queues its trial after `worker_timeout` and finishes."""

from __future__ import annotations

import time

import pytest

from tfnas.heartbeat import Watch
from tfnas.oracles import RandomOracle
from tfnas.result import SearchResult
from tfnas.testing.processes import run_distributed


def test_a_silent_trial_is_requeued_once_then_failed(tmp_path):
    from tfnas.testing.oracle_contract import make_tuner

    oracle = RandomOracle(max_trials=4, seed=0)
    make_tuner(oracle, str(tmp_path))
    trial = oracle.create_trial("tuner0")
    watch = Watch(oracle, timeout_seconds=0.05)
    watch.hear(trial.trial_id)
    assert watch.requeue_silent() == []  # heard just now
    time.sleep(0.1)
    assert watch.requeue_silent() == [trial.trial_id]
    assert "tuner0" not in oracle.ongoing_trials and "tuner0" not in oracle.tuner_ids
    assert "worker tuner0 was silent" in oracle.rerun[trial.trial_id]
    again = oracle.create_trial("tuner1")  # the next worker that asks gets the lost trial
    assert again.trial_id == trial.trial_id
    watch.hear(again.trial_id)  # as the chief's CreateTrial does
    time.sleep(0.1)
    assert watch.requeue_silent() == [trial.trial_id]
    assert oracle.trials[trial.trial_id].status == "FAILED" and "Lost twice" in oracle.trials[trial.trial_id].message
    assert oracle.create_trial("tuner1").trial_id != trial.trial_id  # not handed out a third time


@pytest.mark.slow
def test_chief_finishes_every_trial_when_a_worker_dies_for_good(tmp_path):
    max_trials, timeout = 4, 6.0
    train_log = str(tmp_path / "train.log")
    args = ["--max-trials", str(max_trials), "--epochs", "3", "--epoch-sleep", "1.0", "--worker-timeout", str(timeout),
            "--train-log", train_log]
    run = run_distributed(str(tmp_path), args, workers=2, kill_first_worker=True)
    output, codes, pids = run["output"], run["returncodes"], run["pids"]
    assert codes["chief"] == 0 and codes["tuner1"] == 0, output["chief"][-3000:] + output["tuner1"][-3000:]
    result = SearchResult.load(str(tmp_path / "dist"))
    assert len(result.completed) == max_trials and len(result.trials) == max_trials
    assert len(result.rerun) == 1 and "worker tuner0 was silent" in next(iter(result.rerun.values()))
    trained_by = open(train_log).read().split()  # the lost trial was trained again exactly once, by tuner1
    assert trained_by.count(str(pids["tuner0"])) == 1 and trained_by.count(str(pids["tuner1"])) == max_trials
    assert "re-run: worker tuner0 was silent" in output["chief"]
