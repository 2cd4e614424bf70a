"""Distributed workers lost for good: the chief re-queues their trials, idle workers wait for them, none left is an error."""

from __future__ import annotations

import json

import pytest

from tfnas.errors import DistributedSearchError
from tfnas.heartbeat import Watch
from tfnas.oracles import RandomOracle
from tfnas.result import SearchResult
from tfnas.testing.oracle_contract import make_tuner
from tfnas.testing.processes import run_distributed
from tfnas.testing.processes import run_losing_first_trial


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _watch(tmp_path, max_trials: int, timeout: float = 5.0):
    oracle = RandomOracle(max_trials=max_trials, seed=0)
    make_tuner(oracle, str(tmp_path))
    clock = FakeClock()
    return oracle, clock, Watch(oracle, timeout_seconds=timeout, rerun=oracle.rerun, clock=clock)


def _complete(oracle, trial) -> None:
    oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5, "macs": 10.0, "params": 10.0})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)


def test_a_silent_trial_is_requeued_once_then_failed(tmp_path):
    oracle, clock, watch = _watch(tmp_path, max_trials=4, timeout=0.05)
    trial = watch.create_trial("tuner0")
    assert watch.requeue_silent() == []  # heard just now
    clock.now += 0.1
    assert watch.requeue_silent() == [trial.trial_id]
    assert "tuner0" not in oracle.ongoing_trials and "tuner0" not in oracle.tuner_ids
    assert "worker tuner0 was silent" in oracle.rerun[trial.trial_id]
    again = watch.create_trial("tuner1")  # the next worker that asks gets the lost trial
    assert again.trial_id == trial.trial_id
    clock.now += 0.04
    assert watch.requeue_silent() == []  # silent for less than the timeout
    clock.now += 0.02
    assert watch.requeue_silent() == [trial.trial_id]
    assert oracle.trials[trial.trial_id].status == "FAILED" and "Lost twice" in oracle.trials[trial.trial_id].message
    assert watch.create_trial("tuner1").trial_id != trial.trial_id  # not handed out a third time


def test_an_idle_worker_waits_while_another_trial_may_be_lost_and_then_trains_it(tmp_path):
    oracle, clock, watch = _watch(tmp_path, max_trials=2)
    first = watch.create_trial("tuner0")
    second = watch.create_trial("tuner1")
    _complete(oracle, second)
    # The budget is spent but tuner0's trial runs: tuner1 is told to wait (IDLE), not to stop, and stays known.
    for _ in range(3):
        assert watch.create_trial("tuner1").status == "IDLE"
        assert "tuner1" in oracle.tuner_ids
    clock.now += 6.0
    watch.hear(first.trial_id)  # tuner0's heartbeat: still alive
    assert watch.requeue_silent() == [] and watch.create_trial("tuner1").status == "IDLE"
    clock.now += 6.0
    assert watch.requeue_silent() == [first.trial_id]  # tuner0 went silent
    again = watch.create_trial("tuner1")
    assert again.status == "RUNNING" and again.trial_id == first.trial_id
    _complete(oracle, again)
    assert watch.create_trial("tuner1").status == "STOPPED" and not oracle.tuner_ids
    assert [t.status for t in oracle.trials.values()] == ["COMPLETED", "COMPLETED"]


def test_a_worker_that_holds_no_trial_and_goes_silent_is_forgotten(tmp_path):
    oracle, clock, watch = _watch(tmp_path, max_trials=2)
    first = watch.create_trial("tuner0")
    _complete(oracle, watch.create_trial("tuner1"))
    assert watch.create_trial("tuner1").status == "IDLE"
    clock.now += 4.0
    watch.hear(first.trial_id)
    clock.now += 2.0
    assert watch.requeue_silent() == [] and "tuner1" not in oracle.tuner_ids  # 6 s without asking again
    assert "tuner0" in oracle.tuner_ids  # it holds a trial and beats


def test_the_chief_says_when_no_worker_is_left_for_a_lost_trial(tmp_path):
    oracle, clock, watch = _watch(tmp_path, max_trials=3)
    watch.check_workers()  # no worker yet: a resumed chief waits for them
    trial = watch.create_trial("tuner0")
    clock.now += 6.0
    assert watch.requeue_silent() == [trial.trial_id]
    watch.check_workers()  # just queued: a worker may yet ask
    clock.now += 4.0
    watch.check_workers()
    clock.now += 2.0
    with pytest.raises(DistributedSearchError, match=f"Trial\\(s\\) {trial.trial_id} lost .*run the same command again"):
        watch.check_workers()
    assert oracle.trials[trial.trial_id].status == "RUNNING"  # kept for the resume


def _args(tmp_path, max_trials: int, timeout: float) -> list[str]:
    return ["--max-trials", str(max_trials), "--epochs", "1", "--worker-timeout", str(timeout),
            "--train-log", str(tmp_path / "train.log")]


@pytest.mark.slow
def test_a_survivor_trains_the_first_trial_again_after_finishing_all_the_others(tmp_path):
    max_trials = 6
    run = run_losing_first_trial(str(tmp_path), _args(tmp_path, max_trials, 8.0), survivors=1)
    output, codes, pids = run["output"], run["returncodes"], run["pids"]
    assert codes["chief"] == 0 and codes["tuner1"] == 0, output["chief"][-3000:] + output["tuner1"][-3000:]
    result = SearchResult.load(str(tmp_path / "dist"))
    assert len(result.completed) == max_trials and len(result.trials) == max_trials
    assert list(result.rerun) == ["0"] and "worker tuner0 was silent" in result.rerun["0"]
    with open(tmp_path / "dist" / "oracle.json") as f:  # trials 1-5 ended before trial 0 was lost and trained again
        assert json.load(f)["end_order"] == ["1", "2", "3", "4", "5", "0"]
    trained_by = (tmp_path / "train.log").read_text().split()
    assert trained_by.count(str(pids["tuner0"])) == 1 and trained_by.count(str(pids["tuner1"])) == max_trials
    assert "re-run: worker tuner0 was silent" in output["chief"]


@pytest.mark.slow
def test_with_no_survivor_the_chief_fails_naming_the_lost_trial_and_a_rerun_resumes(tmp_path):
    args = _args(tmp_path, 2, 6.0)
    run = run_losing_first_trial(str(tmp_path), args, survivors=0)
    chief = run["output"]["chief"]
    assert run["returncodes"]["chief"] != 0, chief[-3000:]
    assert "DistributedSearchError" in chief and "Trial(s) 0 lost their worker" in chief and "run the same command again" in chief
    again = run_distributed(str(tmp_path), args, workers=1)
    assert again["returncodes"] == {"chief": 0, "tuner0": 0}, again["output"]["chief"][-3000:]
    result = SearchResult.load(str(tmp_path / "dist"))
    assert sorted(t.trial_id for t in result.completed) == ["0", "1"]
