"""`tfnas launch` with real processes: a worker killed with SIGKILL mid-trial is restarted, the search finishes."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from tfnas.app.launch import launch
from tfnas.result import SearchResult
from tfnas.testing.processes import SEARCH_SCRIPT
from tfnas.testing.processes import child_env
from tfnas.testing.processes import stop


def read_json(path):
    """A file the chief may be rewriting: None until it parses."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_worker_killed_mid_trial_is_restarted_and_search_finishes(tmp_path):
    max_trials = 4
    command = [
        sys.executable, "-m", "tfnas", "launch", "--workers", "2",
        SEARCH_SCRIPT, str(tmp_path), "--max-trials", str(max_trials), "--epochs", "6", "--epoch-sleep", "0.5",
    ]
    launcher = subprocess.Popen(
        command, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(launcher.stdout), daemon=True)
    reader.start()
    project_dir = os.path.join(tmp_path, "dist")
    try:
        pid = int(wait_for(lambda: re.search(r"started tuner0 \(pid (\d+)\)", "".join(lines)), 60, "tuner0").group(1))

        # Kill tuner0 while it trains a trial, once at least one other trial has completed.
        def tuner0_mid_trial():
            state = read_json(os.path.join(project_dir, "oracle.json"))
            if not state or not state["end_order"] or "tuner0" not in state["ongoing_trials"]:
                return None
            trial_id = state["ongoing_trials"]["tuner0"]
            return None if os.path.exists(os.path.join(project_dir, f"trial_{trial_id}", "model.keras")) else trial_id

        killed = wait_for(tuner0_mid_trial, 120, "tuner0 to train a trial after another trial completed")
        completed_before = {
            t.trial_id: t.metrics for t in SearchResult.load(project_dir).trials if t.status == "COMPLETED"
        }
        os.kill(pid, signal.SIGKILL)
        assert not os.path.exists(os.path.join(project_dir, f"trial_{killed}", "model.keras")), "not killed mid-trial"
        launcher.wait(timeout=150)
        reader.join(5)
    finally:
        stop([launcher])
    output = "".join(lines)
    assert launcher.returncode == 0, output[-4000:]
    assert "tuner0 was killed by SIGKILL; restarting it" in output

    result = SearchResult.load(project_dir)
    assert len(result.trials) == max_trials and len(result.completed) == max_trials, output[-4000:]
    restarted_output = output.split("restarting it", 1)[1]
    assert re.search(rf"^\[tuner0\] Trial \[id {killed}\]", restarted_output, re.M), "the killed trial was not re-run"
    assert result.trials[[t.trial_id for t in result.trials].index(killed)].model_path
    for trial_id, metrics in completed_before.items():  # trials completed before the kill are kept as they were
        assert {t.trial_id: t.metrics for t in result.trials}[trial_id] == metrics
    assert completed_before and killed not in completed_before


@pytest.mark.slow
def test_an_oracle_error_on_the_chief_stops_every_process(tmp_path):
    # keras-tuner's own chief loop would wait forever here; tfnas's stops and tells the workers why.
    command = [
        sys.executable,
        "-m",
        "tfnas",
        "launch",
        "--workers",
        "1",
        SEARCH_SCRIPT,
        str(tmp_path),
        "--max-macs",
        "50",
        "--max-draws",
        "10",
    ]
    launcher = subprocess.Popen(
        command, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = launcher.communicate(timeout=120)
    finally:
        stop([launcher])
    assert launcher.returncode == 1, output[-3000:]
    # The chief's traceback always names the error. The worker's "the chief stopped the search: ..." line is
    # best effort: a chief that exits before its reply reaches the worker leaves the worker only a lost connection
    # (seen once in CI), and the launcher then stops it.
    assert "InfeasibleSearchError: No candidate in the search space meets the constraints {'max_macs': 50}" in output
    assert not list(tmp_path.glob("dist/trial_*/model.keras"))


def test_launch_rejects_bad_arguments():
    from tfnas.errors import TfnasInputError

    with pytest.raises(TfnasInputError, match="must not contain 'chief'"):
        launch(["train.py"], worker_prefix="chief-worker")
    with pytest.raises(TfnasInputError, match="need the chief's port"):
        launch(["train.py"], chief=False, workers=2)
    with pytest.raises(TfnasInputError, match="No command to launch"):
        launch(["--"])
