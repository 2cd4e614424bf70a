"""Nothing lost when processes meet: one writer per run directory, atomic trial records, models checked against them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from tfnas.data import prepare
from tfnas.demo import load_digits_images
from tfnas.errors import TfnasError
from tfnas.errors import TfnasInputError
from tfnas.lock import RunLock
from tfnas.result import SearchResult
from tfnas.testing.processes import SEARCH_SCRIPT
from tfnas.testing.processes import child_env
from tfnas.testing.processes import stop


def test_a_held_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    with RunLock(str(tmp_path), "p"):
        code = f"from tfnas.lock import RunLock; RunLock({str(tmp_path)!r}, 'p').acquire()"
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), timeout=60)
        assert run.returncode == 1
        assert f"Another search is writing {tmp_path / 'p'} (process {os.getpid()} on " in run.stderr
        assert "project_name=" in run.stderr and "tfnas launch" in run.stderr
    RunLock(str(tmp_path), "p").acquire()  # released: free again


def _validation_split() -> tuple:
    """The validation data `tfnas/testing/distributed_search.py` searches with (its seed 1 split)."""
    (x, y), _ = load_digits_images()
    data = prepare(x[:360].reshape(360, -1), y[:360], validation_split=0.2, seed=1)
    return data.fit_kwargs["validation_data"]


@pytest.mark.slow
def test_a_second_search_on_the_same_directory_is_refused_before_training(tmp_path):
    command = [sys.executable, SEARCH_SCRIPT, str(tmp_path), "--max-trials", "3", "--epochs", "2", "--epoch-sleep", "0.5"]
    first_log, second_log = str(tmp_path / "first.log"), str(tmp_path / "second.log")
    with open(tmp_path / "first.out", "w") as out:
        first = subprocess.Popen([*command, "--train-log", first_log], env=child_env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        lock = tmp_path / ".dist.lock"
        deadline = time.monotonic() + 120
        while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        second = subprocess.run(
            [*command, "--train-log", second_log], env=child_env(), capture_output=True, text=True, timeout=120
        )
        assert second.returncode != 0
        assert f"Another search is writing {tmp_path / 'dist'} (process {first.pid} on" in second.stderr
        assert not os.path.exists(second_log), "the refused search trained a model"
        assert first.wait(timeout=300) == 0, (tmp_path / "first.out").read_text()[-3000:]
    finally:
        stop([first])
    result = SearchResult.load(str(tmp_path / "dist"))
    assert len(result.completed) == 3
    x_val, y_val = _validation_split()
    for candidate in result.completed:  # each model is the one its record describes, and reproduces its metric
        assert candidate.model_problem is None
        accuracy = float(np.mean(candidate.model().predict(x_val, verbose=0).argmax(axis=1) == y_val))
        assert accuracy == pytest.approx(candidate.metrics["val_accuracy"], abs=1e-6)


KILL_AT_RECORD = """
import os, signal, sys
real = os.replace
def replace(src, dst):
    if dst.endswith(os.path.join("trial_1", "model.json")):
        os.kill(os.getpid(), signal.SIGKILL)  # model.keras renamed, its record not yet
    real(src, dst)
os.replace = replace
sys.argv = sys.argv[:1] + sys.argv[2:]  # drop the "-" that stands for this code
exec(open({script!r}).read(), {{"__name__": "__main__"}})
"""


@pytest.mark.slow
def test_a_kill_between_the_temporary_write_and_the_rename_loses_nothing(tmp_path):
    args = [str(tmp_path), "--max-trials", "3", "--epochs", "1"]
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AT_RECORD.format(script=SEARCH_SCRIPT), "-", *args],
        env=child_env(), capture_output=True, text=True, timeout=300,
    )
    assert killed.returncode == -9, killed.stderr[-3000:]
    project = tmp_path / "dist"
    for path in project.glob("**/*.json"):  # every record is whole: old or new, never half
        json.loads(path.read_text())
    assert (project / "trial_1" / "model.keras").exists() and not (project / "trial_1" / "model.json").exists()
    resumed = subprocess.run([sys.executable, SEARCH_SCRIPT, *args], env=child_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    result = SearchResult.load(str(project))
    assert [c.trial_id for c in result.completed] == ["0", "1", "2"]
    assert all(c.model_problem is None for c in result.completed)


def test_a_model_from_another_run_is_reported_not_loaded(tmp_path):
    import tfnas

    (x, y), _ = load_digits_images()
    result = tfnas.search(
        x[:300].reshape(300, -1), y[:300], space="mlp", max_trials=2, epochs=1, seed=0, directory=str(tmp_path),
        project_name="p", verbose=0,
    )
    a, b = (os.path.join(result.project_dir, f"trial_{i}", "model.keras") for i in ("0", "1"))
    os.replace(b, a)  # trial 0's folder now holds trial 1's model
    again = SearchResult.load(result.project_dir)
    broken = next(c for c in again.trials if c.trial_id == "0")
    assert "other hyperparameter values" in broken.model_problem or "not the file its record" in broken.model_problem
    with pytest.raises(TfnasError, match="Trial 0: model.keras"):
        broken.model()
    with pytest.raises(TfnasInputError, match="Another search is writing"):
        with RunLock(str(tmp_path), "p"):
            tfnas.search(x[:300].reshape(300, -1), y[:300], space="mlp", max_trials=2, epochs=1, directory=str(tmp_path),
                         project_name="p", verbose=0)


def test_the_write_check_does_not_touch_another_process_probe(tmp_path):
    """Chief and workers check one folder at once: a probe of another process there must not break the check."""
    from tfnas.search import _check_writable

    (tmp_path / ".tfnas_write_test").mkdir()  # where a shared probe name would collide (a file another process owns)
    _check_writable(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == [".tfnas_write_test"]  # its own probe is gone again
