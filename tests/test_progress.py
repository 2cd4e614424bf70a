"""What a search prints: `Trial i/N` lines and a summary at `verbose=1`, nothing at all at `verbose=0`."""

import logging
import warnings
from types import SimpleNamespace

import keras_tuner as kt
import pytest
import tensorflow as tf

import tfnas
from tfnas.demo import load_digits_images
from tfnas.progress import Progress

(X, Y), _ = load_digits_images()
X, Y = X[:300].reshape(300, -1), Y[:300]


def tiny_search(directory: str, verbose: int, **kwargs):
    return tfnas.search(
        X, Y, space="mlp", constraints={"max_macs": 3000}, max_trials=2, epochs=1, seed=0, directory=directory,
        verbose=verbose, **kwargs,
    )


def test_verbose_0_prints_nothing_on_stdout_or_stderr(tmp_path, capfd):
    tf.constant(1.0) + 1.0  # TensorFlow's device start-up lines come once per process, before any search
    capfd.readouterr()
    result = tiny_search(str(tmp_path), verbose=0)
    out, err = capfd.readouterr()
    assert len(result.completed) == 2
    assert out == "" and err == ""


def test_verbose_1_prints_a_line_per_trial_and_the_summary_once(tmp_path, capfd):
    result = tiny_search(str(tmp_path), verbose=1)
    out = capfd.readouterr().out
    lines = out.splitlines()
    assert [line.split(" [")[0] for line in lines if line.startswith("Trial ")] == ["Trial 1/2", "Trial 2/2"]
    assert "ETA" in out and "macs" in out
    assert "Search: 2 trained, 0 failed" in out and "Pareto front (" not in out  # the front is result.summary()'s
    result.summary()
    out = capfd.readouterr().out
    assert "Search: 2 trained, 0 failed" in out and "Pareto front (val_accuracy at the last epoch vs macs)" in out
    assert "* best by reward" in out


class OneIdeaOracle(tfnas.oracles.MultiObjectiveOracle):
    """Proposes one candidate, then runs out of ideas."""

    def propose(self, trial_id):
        return None if self.trials else self.random_values()


def test_early_stop_is_explained_and_logged(tmp_path, capfd, caplog):
    with caplog.at_level(logging.WARNING, logger="tfnas"):
        result = tiny_search(str(tmp_path), verbose=0, oracle=OneIdeaOracle(max_trials=2))
    assert len(result.trials) == 1
    assert capfd.readouterr() == ("", "")
    assert any("stopped after 1 of 2 trials" in r.getMessage() for r in caplog.records)
    tiny_search(str(tmp_path / "loud"), verbose=1, oracle=OneIdeaOracle(max_trials=2))
    assert "stopped after 1 of 2 trials" in capfd.readouterr().out


def test_silenced_restores_warnings_and_loggers():
    from tfnas.progress import silenced

    before = logging.getLogger("tensorflow").level
    with silenced(0):
        warnings.warn("hidden", stacklevel=1)
        print("hidden")
    assert logging.getLogger("tensorflow").level == before
    with pytest.warns(UserWarning):
        warnings.warn("shown", stacklevel=1)


def _line(values, keys):
    """The first part of the line `Progress` prints for a completed trial with these values."""
    hp = kt.HyperParameters()
    hp.values.update(values)
    trial = kt.engine.trial.Trial(hyperparameters=hp, trial_id="00", status="COMPLETED")
    trial.metrics.register("val_accuracy", direction="max")
    trial.metrics.update("val_accuracy", 0.5)
    oracle = SimpleNamespace(trials={"00": trial}, end_order=["00"], objective=SimpleNamespace(name="val_accuracy"))
    lines = []
    progress = Progress(2, keys=keys, print_fn=lines.append)
    progress.on_trial_begin(None, trial)
    progress.on_trial_end(SimpleNamespace(oracle=oracle), trial)
    (line,) = lines
    return line.split(" | ")[0]  # the head and hyperparameters; timings differ between calls


def test_candidates_differing_only_in_an_unshown_value_print_different_lines():
    keys = ("num_layers", "units1")
    a = {"num_layers": 2, "units1": 32, "units2": 8, "dropout": 0.1, "learning_rate": 1e-3}
    b = {**a, "units2": 16}
    assert _line(a, keys) != _line(b, keys)
    assert _line(a, keys) == _line(dict(a), keys)  # the same candidate prints the same line, in any run
    assert _line(a, None) != _line({**a, "learning_rate": 1e-2}, None)  # no summary keys: the first four shown
    assert _line(a, keys).startswith("Trial 1/2 [id 00] num_layers=2 units1=32 #")
    # keras-tuner's Hyperband bookkeeping is not part of the candidate: a promotion keeps its parent's hash
    assert _line(a, keys) == _line({**a, "tuner/epochs": 3, "tuner/trial_id": "01"}, keys)
