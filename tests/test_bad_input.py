"""Bad input to `tfnas.search()`: one test per case, each failing before any training with the fix named.

Export-side cases live with export (`tests/export_tests/test_export.py`): int8
without representative data, a layer TFLite Micro cannot run, an unwritable
path. Config-file cases live with the config tests.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfnas
from tfnas.demo import load_digits_images
from tfnas.errors import InfeasibleSearchError
from tfnas.errors import TfnasInputError

(X, Y), _ = load_digits_images()
X, Y = X[:400], Y[:400]  # (400, 8, 8, 1) images, labels 0..9
SMALL_X = np.stack([X[Y == k][0] for k in range(10)])  # one sample of each class


def ragged():
    return [np.zeros((8, 8, 1)), np.zeros((7, 8, 1))] * 200


DATA_CASES = {
    "length_mismatch": (X, Y[:-10], {}, ["400 samples but y has 390", "one to one"]),
    "object_dtype": (X.astype(object), Y, {}, ["dtype object", "np.asarray"]),
    "string_labels": (X, Y.astype(str), {}, ["dtype <U", "LabelEncoder"]),
    "ragged_samples": (ragged(), Y, {}, ["cannot be read as one numeric array", "one shape"]),
    "nan_in_x": (np.where(X > 0.99, np.nan, X), Y, {}, ["NaN or infinite", "nan_to_num"]),
    "inf_in_x": (np.where(X > 0.99, np.inf, X), Y, {}, ["NaN or infinite", "nan_to_num"]),
    "negative_labels": (X, Y - 1, {}, ["labels from -1 to 8", "LabelEncoder"]),
    "non_integer_labels": (X, Y + 0.5, {"task": "classification"}, ["non-integer labels", "task='regression'"]),
    "one_hot_labels": (X, np.eye(10)[Y], {"task": "classification"}, ["one integer class id", "argmax"]),
    "single_class": (X, np.zeros(400, dtype=int), {}, ["single class", "at least two"]),
    "nan_regression_target": (X, np.where(Y > 8, np.nan, Y / 9.0), {}, ["NaN or infinite targets", "drop"]),
    "fewer_samples_than_classes": (
        SMALL_X[:3], np.array([0, 1, 9]), {"batch_size": 1, "validation_data": (SMALL_X, np.arange(10))},
        ["Only 3 training samples for 10 classes", "Collect more data"],
    ),
    "fewer_samples_than_batch": (X, Y, {"batch_size": 512}, ["fewer than batch_size=512", "lower batch_size"]),
    "validation_x_shape": (X, Y, {"validation_data": (X[:, :4], Y)}, ["samples of shape (4, 8, 1)", "same preprocessing"]),
    "validation_labels_out_of_range": (X, Y % 5, {"validation_data": (X, Y)}, ["labels from 0 to 9", "0..4"]),
    "validation_not_a_pair": (X, Y, {"validation_data": X}, ["tuple (x_val, y_val)", "ndarray"]),
    "validation_split": (X, Y, {"validation_split": 1.5}, ["between 0 and 1", "validation_data"]),
    "missing_y": (X, None, {}, ["y is missing", "tf.data.Dataset"]),
    "no_feature_axis": (X[:, 0, 0, 0], Y, {}, ["feature axis", "reshape"]),
    "unknown_task": (X, Y, {"task": "ranking"}, ["Unknown task 'ranking'", "classification"]),
}


def assert_untrained(tmp_path) -> None:
    assert not list(tmp_path.glob("**/trial_*")), "a trial started on bad input"


@pytest.mark.parametrize("x, y, kwargs, words", DATA_CASES.values(), ids=DATA_CASES.keys())
def test_bad_data_fails_before_training(x, y, kwargs, words, tmp_path):
    with pytest.raises(TfnasInputError) as info:
        tfnas.search(x, y, directory=str(tmp_path), max_trials=1, epochs=1, verbose=0, **kwargs)
    for word in words:
        assert word in str(info.value)
    assert_untrained(tmp_path)


def test_dataset_without_validation_dataset_fails_before_training(tmp_path):
    dataset = tf.data.Dataset.from_tensor_slices((X, Y)).batch(32)
    with pytest.raises(TfnasInputError, match="pass validation_data as a tf.data.Dataset too"):
        tfnas.search(dataset, directory=str(tmp_path), max_trials=1, epochs=1, verbose=0)
    assert_untrained(tmp_path)


ARGUMENT_CASES = {
    "max_trials_zero": ({"max_trials": 0}, ["max_trials must be a positive integer", "max_trials=0"]),
    "max_trials_bool": ({"max_trials": True}, ["max_trials must be a positive integer", "max_trials=True"]),
    "max_trials_string": ({"max_trials": "3"}, ["max_trials must be a positive integer", "max_trials='3'"]),
    "epochs_float": ({"epochs": 2.5}, ["epochs must be a positive integer", "epochs=2.5"]),
    "epochs_negative": ({"epochs": -1}, ["epochs must be a positive integer", "epochs=-1"]),
    "batch_size_zero": ({"batch_size": 0}, ["batch_size must be a positive integer", "batch_size=0"]),
    "unknown_oracle": ({"oracle": "genetic"}, ["Unknown oracle 'genetic'", "'evolution'", "MultiObjectiveOracle"]),
    "unknown_reward": ({"reward": "accuracy"}, ["Unknown reward 'accuracy'", "'pareto'", "MnasNet"]),
    "unknown_space": ({"space": "transformer"}, ["Unknown space 'transformer'", "'mobilenet'"]),
    "misspelt_constraint": ({"constraints": {"max_mac": 100}}, ["Unknown constraint 'max_mac'", "Did you mean 'max_macs'"]),
    "negative_constraint": ({"constraints": {"max_macs": -5}}, ["max_macs must be a positive number", "max_macs=-5"]),
}


@pytest.mark.parametrize("kwargs, words", ARGUMENT_CASES.values(), ids=ARGUMENT_CASES.keys())
def test_bad_arguments_fail_before_training(kwargs, words, tmp_path):
    with pytest.raises(TfnasInputError) as info:
        tfnas.search(X, Y, directory=str(tmp_path), verbose=0, **{"max_trials": 1, "epochs": 1, **kwargs})
    for word in words:
        assert word in str(info.value)
    assert_untrained(tmp_path)


def test_unwritable_directory_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(TfnasInputError, match="Cannot write the run directory .* pass directory= a folder you can write to"):
        tfnas.search(X, Y, directory=str(blocker / "runs"), max_trials=1, epochs=1, verbose=0)
    assert_untrained(tmp_path)


def test_constraints_no_architecture_meets_fail_before_training(tmp_path):
    with pytest.raises(InfeasibleSearchError) as info:
        tfnas.search(X, Y, constraints={"max_macs": 50}, max_draws=15, max_trials=2, epochs=1, directory=str(tmp_path), verbose=0)
    for word in ("No candidate in the search space meets", "smallest macs seen", "Raise the limits", "smaller search space"):
        assert word in str(info.value)
    assert not list(tmp_path.glob("**/trial_*/model.keras"))


# ----- trials that go wrong: failed and recorded, the search goes on ------------------------------------------------
class ScriptedOracle(tfnas.oracles.MultiObjectiveOracle):
    """Proposes the `modes` in order (units differ so no two are duplicates)."""

    modes = ("nan", "broken", "ok", "ok")

    def propose(self, trial_id):
        index = len(self.trials)
        return self.complete_values({"mode": self.modes[index], "units": 4 + index})


def flaky_build(hp):
    mode = hp.Choice("mode", ["ok", "nan", "broken"])
    units = hp.Int("units", 4, 32)
    if mode == "broken":
        raise ValueError("no layer of that width")
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(units, activation="relu"), keras.layers.Dense(10, activation="softmax")]
    )
    # A learning rate of 1e30 sends the weights to infinity in one step: the loss becomes NaN.
    model.compile(keras.optimizers.SGD(1e30 if mode == "nan" else 1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("constraints", [None, {"max_macs": 10_000}], ids=["unconstrained", "constrained"])
def test_nan_loss_and_failing_build_fail_their_trial_only(tmp_path, constraints, capsys):
    result = tfnas.search(
        X.reshape(len(X), -1), Y, space=flaky_build, oracle=ScriptedOracle(max_trials=4), constraints=constraints,
        epochs=2, directory=str(tmp_path), seed=0,
    )
    by_mode = {t.hyperparameters["mode"] + t.trial_id: t for t in result.trials}
    assert [t.status for t in result.trials] == ["FAILED", "FAILED", "COMPLETED", "COMPLETED"], by_mode
    nan, broken = result.trials[0], result.trials[1]
    assert "loss became NaN" in nan.message and "lower the learning rates" in nan.message
    assert "Building the model failed" in broken.message and "ValueError: no layer of that width" in broken.message
    assert nan.model_path is None and broken.model_path is None
    out = capsys.readouterr().out
    assert out.count("FAILED") == 2 and "Building the model failed" in out and "2 trained, 2 failed" in out
