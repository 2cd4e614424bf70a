"""A search killed with SIGKILL mid-trial resumes: completed trials are kept, the killed one is re-run."""

import json
import os
import subprocess
import sys

import keras
import pytest

import tfnas
from tfnas.demo import load_digits_images
from tfnas.result import SearchResult
from tfnas.testing.processes import SEARCH_SCRIPT
from tfnas.testing.processes import child_env
from tfnas.testing.processes import kill_when
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
    command = [
        sys.executable, SEARCH_SCRIPT, str(tmp_path), "--max-trials", str(MAX_TRIALS), "--epochs", "4", "--epoch-sleep", "1.0"
    ]
    first_log, second_log = str(tmp_path / "first.log"), str(tmp_path / "second.log")
    with open(tmp_path / "first.out", "w") as out:
        first = subprocess.Popen(
            [*command, "--train-log", first_log], env=child_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    def next_one_training() -> bool:  # one trial done, the next one is training now
        states = trial_states(project_dir)
        completed = [i for i, s in states.items() if s == "COMPLETED"]
        running = [i for i, s in states.items() if s == "RUNNING"]
        return bool(completed and running and trainings(first_log) > len(completed))

    try:
        if not kill_when(first, next_one_training):
            pytest.fail(
                f"no trial completed with the next one training (exit {first.poll()}): "
                f"{(tmp_path / 'first.out').read_text()[-2000:]}"
            )
    finally:
        stop([first])

    with open(tmp_path / ".dist.lock") as f:
        assert json.load(f)["pid"] == first.pid  # the killed search's lock file is left behind: it must not block the resume
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
    statuses = [(t.trial_id, t.status) for t in result.trials]
    assert len(result.trials) == MAX_TRIALS and len(result.completed) == MAX_TRIALS, statuses
    by_id = {c.trial_id: c for c in result.trials}
    assert all(by_id[i].metrics["fit_seconds"] == before[i] for i in completed)
    assert by_id[killed[0]].status == "COMPLETED" and by_id[killed[0]].model_path, "the killed trial was not re-run"


class CountTrainings(keras.callbacks.Callback):
    """Counts `model.fit` calls."""

    count = 0

    def on_train_begin(self, logs=None):
        CountTrainings.count += 1


def small_search(directory: str, max_trials: int):
    (x, y), _ = load_digits_images()
    return tfnas.search(
        x[:300].reshape(300, -1), y[:300], space="mlp", max_trials=max_trials, epochs=1, seed=0, directory=directory,
        project_name="p", verbose=0, callbacks=[CountTrainings()],
    )


def edit_json(path: str, change) -> None:
    with open(path) as f:
        state = json.load(f)
    change(state)
    with open(path, "w") as f:
        json.dump(state, f)


@pytest.mark.parametrize("killed_in", ["end_trial", "create_trial"])
def test_kill_between_trial_json_and_oracle_json_is_repaired(tmp_path, killed_in):
    # keras-tuner writes trial.json, then oracle.json; a kill between the two leaves them disagreeing.
    small_search(str(tmp_path), 2)
    project_dir = os.path.join(tmp_path, "p")
    oracle_file, trial_file = os.path.join(project_dir, "oracle.json"), os.path.join(project_dir, "trial_1", "trial.json")

    def forget_end(state):  # killed in end_trial: trial_1.json says COMPLETED, oracle.json still runs it
        state["ongoing_trials"] = {"tuner0": "1"}
        state["end_order"].remove("1")

    def forget_start(state):  # killed in create_trial: trial_1.json says RUNNING, oracle.json never heard of it
        state["start_order"].remove("1")
        state["end_order"].remove("1")

    edit_json(oracle_file, forget_end if killed_in == "end_trial" else forget_start)
    if killed_in == "create_trial":
        edit_json(trial_file, lambda state: state.update(status="RUNNING", metrics={"metrics": {}}, score=None))
        os.remove(os.path.join(project_dir, "trial_1", "model.keras"))
    CountTrainings.count = 0
    result = small_search(str(tmp_path), 2)
    assert CountTrainings.count == (0 if killed_in == "end_trial" else 1)
    assert [t.status for t in result.trials] == ["COMPLETED", "COMPLETED"]
    with open(oracle_file) as f:
        assert json.load(f)["end_order"] == ["0", "1"]
