"""Bad input is rejected before any training, with a message naming the fix."""

import numpy as np
import pytest
import tensorflow as tf

from tfnas.data import prepare
from tfnas.errors import TfnasInputError

RNG = np.random.default_rng(0)
X = RNG.random((100, 8, 8, 1)).astype("float32")
Y = np.arange(100) % 5


def test_good_arrays_are_split_stratified_and_seeded():
    data = prepare(X, Y, validation_split=0.2, seed=1)
    (x_train, y_train), (x_val, y_val) = data.fit_args, data.fit_kwargs["validation_data"]
    assert data.spec.input_shape == (8, 8, 1)
    assert data.spec.task == "classification" and data.spec.num_outputs == 5
    assert len(x_train) == 80 and len(x_val) == 20
    assert sorted(np.bincount(y_val)) == [4] * 5  # every class on both sides
    again = prepare(X, Y, validation_split=0.2, seed=1)
    np.testing.assert_array_equal(again.fit_kwargs["validation_data"][1], y_val)


def test_regression_is_inferred_from_float_targets():
    data = prepare(X, RNG.random(100), seed=0)
    assert data.spec.task == "regression" and data.spec.num_outputs == 1


@pytest.mark.parametrize(
    "x, y, kwargs, message",
    [
        (X, Y[:90], {}, "100 samples but y has 90"),
        (X.astype(object), Y, {}, "dtype object"),
        (np.where(X > 0.99, np.nan, X), Y, {}, "NaN or infinite"),
        (np.where(X > 0.99, np.inf, X), Y, {}, "NaN or infinite"),
        (X, Y - 1, {}, "labels from -1"),
        (X, Y + 0.5, {"task": "classification"}, "non-integer labels"),
        (X, np.eye(5)[Y], {"task": "classification"}, "argmax"),
        (X, np.zeros(100, dtype=int), {}, "single class"),
        (X[:3], np.array([0, 1, 4]), {"batch_size": 1, "validation_data": (X[:5], np.arange(5))}, "3 training samples for 5 classes"),
        (X, Y, {"batch_size": 128}, "fewer than batch_size=128"),
        (X, Y, {"validation_data": (X[:, :4], Y)}, "same preprocessing"),
        (X, Y, {"validation_split": 1.5}, "between 0 and 1"),
        (X, None, {}, "y is missing"),
        (X[:, 0, 0, 0], Y, {}, "feature axis"),
        (X, Y, {"task": "ranking"}, "Unknown task"),
        (X, Y, {"validation_data": (X, Y + 10)}, "0..4"),
    ],
)
def test_bad_input_names_the_problem(x, y, kwargs, message):
    with pytest.raises(TfnasInputError, match=message):
        prepare(x, y, **kwargs)


def test_dataset_needs_validation_dataset_and_reads_classes():
    ds = tf.data.Dataset.from_tensor_slices((X, Y)).batch(16)
    with pytest.raises(TfnasInputError, match="validation_data as a tf.data.Dataset"):
        prepare(ds)
    data = prepare(ds, validation_data=ds)
    assert data.spec.input_shape == (8, 8, 1) and data.spec.num_outputs == 5
    unbatched = tf.data.Dataset.from_tensor_slices((X[:, 0, 0, :], Y))
    with pytest.raises(TfnasInputError, match="batch it"):
        prepare(unbatched, validation_data=unbatched)
