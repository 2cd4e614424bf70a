"""Final training of the front, test metrics, warm starts and repeatable searches."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tfnas
from tfnas.errors import TfnasInputError
from tfnas.spaces import MLPSpace

SPACE = MLPSpace(units=(8, 16, 32), num_layers=(1,), dropout=(0.0,), learning_rate=(1e-2,))


@pytest.fixture(scope="module")
def flat_digits(digits):
    (x, y), (x_test, y_test) = digits
    return (x.reshape(len(x), -1)[:500], y[:500]), (x_test.reshape(len(x_test), -1), y_test)


@pytest.fixture(scope="module")
def searched(flat_digits, tmp_path_factory):
    (x, y), _ = flat_digits
    directory = str(tmp_path_factory.mktemp("runs"))
    return tfnas.search(x, y, space=SPACE, max_trials=3, epochs=3, seed=0, directory=directory, verbose=0)


def test_finalize_retrains_the_front_per_seed_and_records_test_metrics(searched, flat_digits, capsys):
    (x, y), (x_test, y_test) = flat_digits
    final = searched.finalize(x, y, top=2, epochs=4, seeds=2, x_test=x_test, y_test=y_test)
    most_accurate = searched.candidate("most_accurate")
    assert final[0].trial_id == most_accurate.trial_id and len(final) == min(2, len(searched.pareto))
    first = final[0]
    assert first.seeds == [0, 1] and len(first.test_scores) == 2 and first.epochs == 4
    assert first.metrics["test_accuracy"] == pytest.approx(np.mean(first.test_scores))
    seed0, seed1 = (tfnas.SearchResult.load(searched.project_dir).final[0].model_paths[i] for i in (0, 1))
    import keras

    assert not np.allclose(keras.models.load_model(seed0).get_weights()[0], keras.models.load_model(seed1).get_weights()[0])
    model = first.model()
    predicted = np.asarray(model(x_test, training=False)).argmax(axis=1)
    assert np.mean(predicted == y_test) == pytest.approx(first.test_scores[0])
    assert "Final training: trial" in capsys.readouterr().out
    loaded = tfnas.SearchResult.load(searched.project_dir)
    assert [f.trial_id for f in loaded.final] == [f.trial_id for f in final]
    assert loaded.final[0].test_scores == first.test_scores


def test_finalize_resumes_without_training_again(searched, flat_digits):
    (x, y), (x_test, y_test) = flat_digits
    searched.finalize(x, y, top=1, epochs=4, seeds=1, x_test=x_test, y_test=y_test, print_fn=None)
    path = os.path.join(searched.project_dir, "final", f"trial_{searched.final[0].trial_id}", "seed_0", "model.keras")
    stamp = os.stat(path).st_mtime_ns
    again = searched.finalize(x, y, top=1, epochs=4, seeds=1, x_test=x_test, y_test=y_test, print_fn=None)
    assert os.stat(path).st_mtime_ns == stamp  # read back, not retrained
    more = searched.finalize(x, y, top=1, epochs=5, seeds=1, x_test=x_test, y_test=y_test, print_fn=None)
    assert os.stat(path).st_mtime_ns != stamp and more[0].epochs == 5 and again[0].epochs == 4


def test_finalize_defaults_to_three_times_the_search_epochs(searched, flat_digits):
    (x, y), _ = flat_digits
    final = searched.finalize(x, y, top=1, seeds=[7], print_fn=None)
    assert final[0].epochs == 9 and final[0].seeds == [7] and final[0].test_scores == []


@pytest.mark.parametrize(
    "kwargs,match",
    [({"top": 0}, "top must be a positive integer"), ({"seeds": 0}, "seeds must be"), ({"epochs": -1}, "epochs must be"),
     ({"x_test": np.zeros((2, 64))}, "Pass both x_test and y_test")],
)
def test_finalize_bad_arguments(searched, flat_digits, kwargs, match):
    (x, y), _ = flat_digits
    with pytest.raises(TfnasInputError, match=match):
        searched.finalize(x, y, **kwargs)


def test_evaluate_adds_test_metrics_to_every_candidate(searched, flat_digits, capsys):
    _, (x_test, y_test) = flat_digits
    scores = searched.evaluate(x_test, y_test)
    assert set(scores) == {c.trial_id for c in searched.completed}
    loaded = tfnas.SearchResult.load(searched.project_dir)
    for candidate in loaded.completed:
        assert 0.0 < candidate.metrics["test_accuracy"] <= 1.0
    loaded.summary()
    assert "test_accuracy" in capsys.readouterr().out


def test_warm_start_proposes_the_earlier_front_first(searched, flat_digits, tmp_path):
    (x, y), _ = flat_digits
    earlier_best = searched.candidate("most_accurate").hyperparameters
    result = tfnas.search(
        x, y, space=SPACE, max_trials=1, epochs=1, seed=5, directory=str(tmp_path), verbose=0, warm_start=searched.project_dir,
    )
    assert result.trials[0].hyperparameters == earlier_best
    assert not os.path.exists(os.path.join(result.project_dir, "final"))  # nothing was copied


def test_warm_start_from_another_space_keeps_only_what_fits(searched, flat_digits, tmp_path):
    (x, y), _ = flat_digits
    other = MLPSpace(units=(8, 64), num_layers=(1, 2), dropout=(0.0,), learning_rate=(1e-3,))
    result = tfnas.search(
        x, y, space=other, max_trials=1, epochs=1, seed=5, directory=str(tmp_path), verbose=0, warm_start=searched
    )
    values = result.trials[0].hyperparameters
    assert values["learning_rate"] == 1e-3 and values["units1"] in (8, 64)


def test_bad_warm_start_is_refused_before_training(flat_digits, tmp_path):
    (x, y), _ = flat_digits
    with pytest.raises(TfnasInputError, match="No search in"):
        tfnas.search(x, y, space=SPACE, warm_start=str(tmp_path / "nothing"), directory=str(tmp_path))
    with pytest.raises(TfnasInputError, match="must be a SearchResult or a run directory"):
        tfnas.search(x, y, space=SPACE, warm_start=42, directory=str(tmp_path))


SEEDED_SEARCH = """
import json, sys
import tfnas
from tfnas.demo import load_digits_images
(x, y), _ = load_digits_images()
result = tfnas.search(x[:600], y[:600], max_trials=2, epochs=1, seed=0, directory=sys.argv[1], verbose=0)
print("RESULT " + json.dumps([[t.hyperparameters, t.metrics["val_loss"]] for t in result.trials]))
"""


def test_a_seeded_family_search_repeats_in_a_new_process(tmp_path):
    """keras-tuner explores conditional hps with unseeded values while the tuner is made: the seed must come after."""
    import subprocess
    import sys

    from tfnas.testing.processes import child_env

    processes = [  # side by side: two fresh processes, each with its own unseeded start
        subprocess.Popen([sys.executable, "-c", SEEDED_SEARCH, str(tmp_path / f"run{i}")], env=child_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    runs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-2000:]
        runs.append(stdout.split("RESULT ", 1)[1])
    assert runs[0] == runs[1]


def test_a_seeded_search_repeats_exactly(flat_digits, tmp_path):
    (x, y), _ = flat_digits
    runs = [
        tfnas.search(x, y, space=SPACE, max_trials=2, epochs=2, seed=3, directory=str(tmp_path), project_name=f"r{i}", verbose=0)
        for i in range(2)
    ]
    first, second = ([(t.hyperparameters, t.metrics["val_accuracy"], t.metrics["val_loss"]) for t in r.trials] for r in runs)
    assert first == second
    from tensorflow.python.framework import config

    assert not config.is_op_determinism_enabled()  # on only while a seeded search runs
