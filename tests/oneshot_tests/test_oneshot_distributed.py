"""A one-shot search distributed over real processes: the chief trains and ranks, a worker trains from its weights."""

from __future__ import annotations

import json
import os

import pytest

from tfnas.testing.processes import run_distributed

LIMIT = 6_000


@pytest.mark.slow
def test_chief_prepares_and_the_worker_fine_tunes_from_the_shared_supernet(tmp_path):
    train_log = str(tmp_path / "train.log")
    run = run_distributed(str(tmp_path), ["--oneshot", "--max-trials", "5", "--epochs", "2", "--max-macs", str(LIMIT),
                                          "--train-log", train_log], workers=1, timeout=400)
    assert run["returncodes"] == {"chief": 0, "tuner0": 0}, run["output"]
    with open(tmp_path / "chief_result.json") as f:
        result = json.load(f)
    # the supernet (2 epochs x 4 sub-networks) counts as 4 trials of 2 epochs: 1 of the 5 is trained, by the worker
    trials = [t for t in result["trials"] if t["status"] == "COMPLETED"]
    assert len(trials) == 1 and all(t["metrics"]["macs"] <= LIMIT for t in trials)
    with open(train_log) as f:
        trainers = f.read().split()
    assert trainers == [str(run["pids"]["tuner0"])]  # the trial trained on the worker, none on the chief
    with open(train_log + ".inherit") as f:
        assert f.read().split() == ["inherited"]  # from the chief's supernet weights, not a fresh initialisation
    assert os.path.exists(tmp_path / "dist" / "oneshot" / "ranked.json")
