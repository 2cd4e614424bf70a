"""`prepare`: checks, stratified seeded split and the `DataSpec`; each bad-input case is in `test_bad_input.py`."""

import numpy as np
import pytest
import tensorflow as tf

from tfnas.data import prepare
from tfnas.errors import TfnasInputError
from tfnas.task import Task

RNG = np.random.default_rng(0)
X = RNG.random((100, 8, 8, 1)).astype("float32")
Y = np.arange(100) % 5


def test_good_arrays_are_split_stratified_and_seeded():
    data = prepare(X, Y, validation_split=0.2, seed=1)
    (x_train, _), (x_val, y_val) = data.fit_args, data.fit_kwargs["validation_data"]
    assert data.spec.input_shape == (8, 8, 1)
    assert data.spec.task == Task("classification") and data.spec.num_outputs == 5
    assert len(x_train) == 80 and len(x_val) == 20
    assert sorted(np.bincount(y_val)) == [4] * 5  # every class on both sides
    again = prepare(X, Y, validation_split=0.2, seed=1)
    np.testing.assert_array_equal(again.fit_kwargs["validation_data"][1], y_val)


def test_regression_is_inferred_from_float_targets():
    data = prepare(X, RNG.random(100), seed=0)
    assert data.spec.task == Task("regression") and data.spec.num_outputs == 1


def test_dataset_reads_classes_and_must_be_batched():
    ds = tf.data.Dataset.from_tensor_slices((X, Y)).batch(16)
    data = prepare(ds, validation_data=ds)
    assert data.spec.input_shape == (8, 8, 1) and data.spec.num_outputs == 5
    unbatched = tf.data.Dataset.from_tensor_slices((X[:, 0, 0, :], Y))
    with pytest.raises(TfnasInputError, match="batch it"):
        prepare(unbatched, validation_data=unbatched)


def test_validation_groups_keep_every_group_on_one_side():
    rng = np.random.default_rng(0)
    x = rng.random((300, 5), dtype=np.float32)
    y = np.arange(300) % 3
    groups = np.repeat(np.arange(30), 10)  # 30 speakers, 10 samples each
    rng.shuffle(groups)
    data = prepare(x, y, validation_split=0.2, validation_groups=groups, seed=1)
    (x_train, _), (x_val, _) = data.fit_args, data.fit_kwargs["validation_data"]
    group_of = {row.tobytes(): g for row, g in zip(x, groups, strict=True)}
    train_groups = {group_of[row.tobytes()] for row in x_train}
    val_groups = {group_of[row.tobytes()] for row in x_val}
    assert not train_groups & val_groups
    assert len(x_val) == 60 and len(train_groups | val_groups) == 30  # 6 whole groups held out
    again = prepare(x, y, validation_split=0.2, validation_groups=groups, seed=1)
    np.testing.assert_array_equal(again.fit_kwargs["validation_data"][0], x_val)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"validation_groups": np.zeros(10)}, r"one group id .* per sample of x: shape \(40,\)"),
        ({"validation_groups": np.zeros(40)}, "single group"),
        ({"validation_groups": np.arange(40) % 2, "validation_split": 0.99}, "leaves no group for training"),
        ({"validation_groups": np.arange(40) % 4, "validation_data": (np.zeros((4, 5)), np.zeros(4))}, "nothing to split"),
    ],
)
def test_bad_validation_groups(kwargs, match):
    x = np.random.default_rng(0).random((40, 5), dtype=np.float32)
    with pytest.raises(TfnasInputError, match=match):
        prepare(x, np.arange(40) % 2, **kwargs)
