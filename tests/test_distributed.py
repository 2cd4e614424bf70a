"""Distributed search with real processes: keras-tuner's chief and two workers on 127.0.0.1."""

import collections
import json
import os
import re
import subprocess
import sys
import time

import keras
import pytest

import tfnas
from tfnas.result import SearchResult
from tfnas.testing import distributed_search
from tfnas.testing.processes import SEARCH_SCRIPT
from tfnas.testing.processes import child_env
from tfnas.testing.processes import free_port
from tfnas.testing.processes import stop

EXPECTED_METRICS = {
    "accuracy", "loss", "val_accuracy", "val_loss", "macs", "flops", "params", "tflite_bytes", "peak_ram_bytes",
    "arena_bytes",
    "fit_seconds", "epochs",
}


def front_by_brute_force(candidates) -> set:
    points = {c.trial_id: (c.metrics["val_accuracy"], c.metrics["macs"]) for c in candidates}
    return {
        i for i, (acc, macs) in points.items()
        if not any(a >= acc and m <= macs and (a, m) != (acc, macs) for a, m in points.values())
    }


@pytest.mark.slow
def test_chief_and_two_workers_run_every_trial_once(tmp_path, monkeypatch):
    # Two trials in one process first: the distributed search resumes them and trains only the new ones.
    for name in ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        monkeypatch.delenv(name, raising=False)
    distributed_search.main([str(tmp_path), "--max-trials", "2", "--epochs", "3"])
    project_dir = os.path.join(tmp_path, "dist")
    local = {t.trial_id: t.metrics for t in SearchResult.load(project_dir).trials}
    assert sorted(local) == ["0", "1"]

    max_trials = 6
    env = child_env(KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(free_port()))
    marker = tmp_path / "fail_once"
    marker.touch()
    command = [
        sys.executable, SEARCH_SCRIPT, str(tmp_path), "--max-trials", str(max_trials), "--epochs", "3",
        "--epoch-sleep", "0.4", "--fail-marker", str(marker),
    ]
    logs = {name: open(tmp_path / f"{name}.log", "w+") for name in ("chief", "tuner0", "tuner1")}
    processes = {
        name: subprocess.Popen(
            command, env={**env, "KERASTUNER_TUNER_ID": name}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for name, log in logs.items()
    }
    try:
        deadline = time.monotonic() + 150
        for process in processes.values():
            process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        stop(processes.values())
    output = {}
    for name, log in logs.items():
        log.seek(0)
        output[name] = log.read()
        log.close()
    for name, process in processes.items():
        assert process.returncode == 0, f"{name} failed:\n{output[name][-3000:]}"

    # Every new trial ran exactly once, on one of the two workers, both workers trained, the resumed ones are kept.
    ran = {name: re.findall(r"^Trial \[id (\d+)\]", output[name], re.M) for name in ("tuner0", "tuner1")}
    runs = collections.Counter(ran["tuner0"] + ran["tuner1"])
    result = SearchResult.load(project_dir)
    assert len(result.trials) == max_trials
    assert sorted(runs) == sorted(t.trial_id for t in result.trials if t.trial_id not in local)
    assert set(runs.values()) == {1}, f"a trial ran twice: {runs}"
    assert ran["tuner0"] and ran["tuner1"], f"one worker trained nothing: {ran}"
    assert {t.trial_id: t.metrics for t in result.trials if t.trial_id in local} == local

    # The failed trial keeps its message (keras-tuner's gRPC drops it; the worker wrote it to the run directory).
    failed = [t for t in result.trials if t.status == "FAILED"]
    assert len(failed) == 1 and "deliberate failure for the test" in failed[0].message
    assert len(result.completed) == max_trials - 1

    # Constraints were checked on the chief: candidates over the limit were skipped, none was trained.
    assert result.infeasible_count + result.screened_count > 0
    assert all(c.metrics["macs"] <= 3000 for c in result.completed)

    # Every metric survived gRPC: all keys, and the cost figures exactly those of the saved model.
    for c in result.completed:
        assert set(c.metrics) == EXPECTED_METRICS, sorted(c.metrics)
        costs = tfnas.cost.profile(keras.models.load_model(c.model_path)).to_dict()
        assert {k: c.metrics[k] for k in costs} == costs
        assert isinstance(c.score, float) and c.score == c.metrics["val_accuracy"]  # Pareto's score: the quality

    # The front is right, and the chief returned the result that loads from disk.
    assert {c.trial_id for c in result.pareto} == front_by_brute_force(result.completed)
    with open(tmp_path / "chief_result.json") as f:
        returned = json.load(f)
    assert returned["pareto"] == [c.trial_id for c in result.pareto]
    assert returned["best"] == result.best.trial_id
    assert "Pareto front" in output["chief"] and f"Trial {max_trials}/{max_trials}" in output["chief"]

    # Nothing is left "running" in the saved state, so a resume re-runs nothing.
    with open(os.path.join(project_dir, "oracle.json")) as f:
        assert json.load(f)["ongoing_trials"] == {}


def test_distribution_strategy_trains_each_trial_on_two_devices(tmp_path):
    script = """
import json, sys
import tensorflow as tf
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import tfnas
from tfnas.demo import load_digits_images

replicas = []
class Record(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        replicas.append(self.model.distribute_strategy.num_replicas_in_sync)

(x, y), _ = load_digits_images()
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
result = tfnas.search(x[:300].reshape(300, -1), y[:300], space="mlp", max_trials=2, epochs=1, seed=0,
                      directory=sys.argv[1], distribution_strategy=strategy, callbacks=[Record()], verbose=0)
print("RESULT " + json.dumps({"replicas": replicas, "completed": len(result.completed)}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], env=child_env(), capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    report = json.loads(done.stdout.split("RESULT ", 1)[1])
    assert report == {"replicas": [2, 2], "completed": 2}


@pytest.mark.parametrize(
    "env, message",
    [
        ({"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_TUNER_ID": "chief"}, "KERASTUNER_ORACLE_PORT"),
        ({"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": "8000"}, "KERASTUNER_TUNER_ID"),
    ],
)
def test_incomplete_distributed_environment_is_reported(monkeypatch, env, message):
    for name in ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(tfnas.TfnasInputError, match=f"{message}.*or unset KERASTUNER_ORACLE_IP"):
        tfnas.search(None, None)


def test_roles_follow_keras_tuner(monkeypatch):
    monkeypatch.delenv("KERASTUNER_ORACLE_IP", raising=False)
    assert tfnas.distributed.role() is None
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8000")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert tfnas.distributed.is_chief() and not tfnas.distributed.is_worker()
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner3")
    assert tfnas.distributed.is_worker()


@pytest.mark.parametrize("host, warned", [("127.0.0.1", False), ("10.0.0.5", False), ("0.0.0.0", True), ("8.8.8.8", True)])
def test_chief_warns_when_its_port_may_be_public(monkeypatch, caplog, host, warned):
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", host)
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8000")
    tfnas.distributed._warn_if_public(host)
    assert ("no authentication" in caplog.text) == warned
