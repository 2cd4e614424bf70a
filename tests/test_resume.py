"""A search killed with SIGKILL mid-trial resumes: completed trials are kept, the killed one is re-run."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tfnas.result import SearchResult
from tfnas.testing.processes import SEARCH_SCRIPT
from tfnas.testing.processes import child_env
from tfnas.testing.processes import stop

MAX_TRIALS = 3


def trial_states(project_dir: str) -> dict[str, str]:
    """`{trial_id: status}` as the trial.json files say right now (a file being rewritten is skipped)."""
    states = {}
    for name in sorted(os.listdir(project_dir)) if os.path.isdir(project_dir) else []:
        path = os.path.join(project_dir, name, "trial.json")
        try:
            with open(path) as f:
                state = json.load(f)
        except (OSError, ValueError):
            continue
        states[state["trial_id"]] = state["status"]
    return states


def trainings(log: str) -> int:
    """How many times a model started training (one line each in the `--train-log` file)."""
    return len(open(log).read().split()) if os.path.exists(log) else 0


@pytest.mark.slow
def test_sigkill_mid_trial_then_resume_trains_only_what_is_missing(tmp_path):
    project_dir = os.path.join(tmp_path, "dist")
    command = [sys.executable, SEARCH_SCRIPT, str(tmp_path), "--max-trials", str(MAX_TRIALS), "--epochs", "4", "--epoch-sleep", "1.0"]
    first_log, second_log = str(tmp_path / "first.log"), str(tmp_path / "second.log")
    with open(tmp_path / "first.out", "w") as out:
        first = subprocess.Popen(
            [*command, "--train-log", first_log], env=child_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and first.poll() is None:
            states = trial_states(project_dir)
            completed = [i for i, s in states.items() if s == "COMPLETED"]
            running = [i for i, s in states.items() if s == "RUNNING"]
            if completed and running and trainings(first_log) > len(completed):
                break  # one trial done, the next one is training now
            time.sleep(0.2)
        else:
            pytest.fail(f"no trial completed with the next one training (exit {first.poll()}): {(tmp_path / 'first.out').read_text()[-2000:]}")
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        stop([first])

    states = trial_states(project_dir)
    completed = sorted(i for i, s in states.items() if s == "COMPLETED")
    killed = sorted(i for i, s in states.items() if s == "RUNNING")
    assert completed and len(killed) == 1, states
    models = {i: os.path.join(project_dir, f"trial_{i}", "model.keras") for i in completed}
    mtimes = {i: os.stat(path).st_mtime_ns for i, path in models.items()}
    before = {c.trial_id: c.metrics["fit_seconds"] for c in SearchResult.load(project_dir).completed}

    second = subprocess.run(
        [*command, "--train-log", second_log], env=child_env(), capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]

    assert trainings(second_log) == MAX_TRIALS - len(completed), "the resumed search trained a completed trial again"
    assert {i: os.stat(path).st_mtime_ns for i, path in models.items()} == mtimes
    result = SearchResult.load(project_dir)
    assert len(result.trials) == MAX_TRIALS and len(result.completed) == MAX_TRIALS, [(t.trial_id, t.status) for t in result.trials]
    by_id = {c.trial_id: c for c in result.trials}
    assert all(by_id[i].metrics["fit_seconds"] == before[i] for i in completed)
    assert by_id[killed[0]].status == "COMPLETED" and by_id[killed[0]].model_path, "the killed trial was not re-run"
