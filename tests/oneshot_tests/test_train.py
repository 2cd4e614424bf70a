"""Supernet training: the sandwich rule learns, distils from the largest, resumes after a kill, refuses bad input."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

from tfnas.errors import TfnasInputError
from tfnas.oneshot import Supernet
from tfnas.oneshot import extract
from tfnas.oneshot import largest
from tfnas.oneshot import sandwich_losses
from tfnas.oneshot import smallest
from tfnas.oneshot import train_supernet
from tfnas.spaces import DSCNN1DSpace
from tfnas.task import Task
from tfnas.testing.signals import noisy_sines

EPOCHS = 3
SETTINGS = {"learning_rate": 1e-2, "batch_size": 32, "seed": 0}


class Killed(Exception):
    """Stands for a SIGKILL right after an epoch's checkpoint is written."""




@pytest.fixture(scope="module")
def space() -> DSCNN1DSpace:
    return DSCNN1DSpace(filters=(8, 16), num_blocks=(1, 2), kernel_sizes=(3, 5)).configure((40, 1), 3, "classification")


@pytest.fixture(scope="module")
def data():
    return noisy_sines(320, 0), noisy_sines(200, 1)


@pytest.fixture(scope="module")
def trained(space, data, tmp_path_factory):
    """A supernet trained 3 epochs from scratch without interruption, its initial weights and its history."""
    (x, y), validation = data
    keras.utils.set_random_seed(0)
    supernet = Supernet(space)
    initial = [np.asarray(w) for w in supernet.weights]
    directory = str(tmp_path_factory.mktemp("supernet"))
    history = train_supernet(supernet, x, y, epochs=EPOCHS, validation_data=validation, directory=directory, **SETTINGS)
    return supernet, initial, history, directory


def test_training_lowers_losses_and_extracted_ends_beat_chance(space, data, trained):
    supernet, _, history, directory = trained
    (x, _), (x_val, y_val) = data
    first, last = history.logs[0], history.logs[-1]
    for key in ("loss_largest", "loss_smallest", "label_loss_smallest", "loss_random"):
        assert last[key] < first[key], (key, history.history[key])
    assert (history.epochs, history.steps, history.subnets_per_step, history.subnet_epochs) == (3, 30, 4, 12)
    assert history.seconds > 0 and all(log["seconds"] > 0 for log in history.logs)
    task = Task("classification")
    accuracies = [task.quality(extract(supernet, values, x_calibration=x[:256]), x_val, y_val)
                  for values in (largest(space), smallest(space))]
    # seeds 0-9 of `trained` (0-4 also with oneDNN off, alike): largest 99.5-100%; smallest 57.5-76.5% (mean 66.2, std 5.8
    # points: mean - 3 std = 48.9%), so both bounds hold with room.
    assert accuracies[0] > 0.8 and accuracies[1] > 0.45, accuracies  # chance is 1/3
    # The per-epoch validation recalibrates batch norm as `extract` does: the same figures (equal to the last digit in
    # all those runs; the tolerance only absorbs a sample flipping on a near-tie).
    np.testing.assert_allclose(accuracies, [last["val_accuracy_largest"], last["val_accuracy_smallest"]], atol=0.02)
    with open(os.path.join(directory, "supernet_history.yaml")) as f:
        assert yaml.safe_load(f) == history.to_dict()


def test_resume_after_kill_equals_uninterrupted_run(space, data, trained, tmp_path):
    reference, initial, reference_history, _ = trained
    (x, y), _ = data
    supernet = Supernet(space)
    supernet.set_weights(initial)

    def kill_after_second(epoch, logs):
        if epoch == 1:
            raise Killed

    with pytest.raises(Killed):
        train_supernet(supernet, x, y, epochs=EPOCHS, directory=str(tmp_path), progress=kill_after_second, **SETTINGS)
    after_two = [np.asarray(w) for w in supernet.weights]
    resumed = Supernet(space)  # a fresh process: nothing but the directory survives
    seen = []
    history = train_supernet(resumed, x, y, epochs=EPOCHS, directory=str(tmp_path),
                             progress=lambda epoch, logs: seen.append(epoch), **SETTINGS)
    assert seen == [2] and history.resumed_from == 2
    assert (history.epochs, history.steps) == (3, 30)
    assert any(not np.allclose(a, np.asarray(b)) for a, b in zip(after_two, resumed.weights, strict=True))
    for a, b in zip(reference.weights, resumed.weights, strict=True):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-5, err_msg=a.path)
    assert history.logs[2]["loss_largest"] == pytest.approx(reference_history.logs[2]["loss_largest"], rel=1e-4)
    # Done: a further call trains nothing; other settings on the same directory are refused.
    again = train_supernet(resumed, x, y, epochs=EPOCHS, directory=str(tmp_path), **SETTINGS)
    assert again.logs == history.logs
    with pytest.raises(TfnasInputError, match="other settings"):
        train_supernet(resumed, x, y, epochs=EPOCHS, directory=str(tmp_path), **{**SETTINGS, "seed": 1})


def test_students_learn_from_the_largest(space, data):
    (x, y), _ = data
    x, y = x[:16], y[:16]
    supernet = Supernet(space)
    small = smallest(space)  # one block: the largest's second block is the teacher's alone
    teacher = np.asarray(supernet(x, values=largest(space)))
    student = np.asarray(supernet(x, values=small))
    distilled = sandwich_losses(supernet, x, y, [small], training=False)
    expected = np.mean(keras.losses.categorical_crossentropy(teacher, student))
    assert float(distilled[1]) == pytest.approx(float(expected), rel=1e-5)
    on_labels = sandwich_losses(supernet, x, y, [small], training=False, distill=False)
    expected = np.mean(keras.losses.sparse_categorical_crossentropy(y, student))
    assert float(on_labels[1]) == pytest.approx(float(expected), rel=1e-5)
    assert float(on_labels[0]) == pytest.approx(float(distilled[0]))
    # Stop-gradient on the teacher: the student's loss sends nothing to weights only the largest uses.
    only_teacher = [w for w in supernet.trainable_variables if w.path.startswith("b2_")]
    for distill in (True, False):
        with tf.GradientTape() as tape:
            loss = sandwich_losses(supernet, x, y, [small], distill=distill)[1]
        assert all(g is None for g in tape.gradient(loss, only_teacher))
    with tf.GradientTape() as tape:
        teacher_loss = sandwich_losses(supernet, x, y, [small])[0]
    assert all(g is not None for g in tape.gradient(teacher_loss, only_teacher))


@pytest.mark.parametrize(
    "arguments, match",
    [
        ({"epochs": 0}, "epochs must be an integer >= 1"),
        ({"num_random": -1}, "num_random"),
        ({"sample_fn": lambda rng: {"block1_filters": 7}}, "sample_fn drew"),
        ({"sample_fn": lambda rng: None}, "sample_fn"),
        ({"validation_data": [1, 2, 3]}, "validation_data"),
    ],
    ids=["epochs", "num_random", "bad-value", "not-a-dict", "validation"],
)
def test_bad_arguments_are_refused_before_training(space, data, arguments, match):
    (x, y), _ = data
    supernet = Supernet(space)
    before = [np.asarray(w) for w in supernet.weights]
    with pytest.raises(TfnasInputError, match=match):
        train_supernet(supernet, x[:8], y[:8], **{"epochs": 1, **arguments})
    assert all(np.array_equal(a, np.asarray(b)) for a, b in zip(before, supernet.weights, strict=True))


def test_bad_data_is_refused(space, data):
    (x, y), _ = data
    with pytest.raises(TfnasInputError, match="x must be"):
        train_supernet(Supernet(space), x[:8, :20], y[:8], epochs=1)
    with pytest.raises(TfnasInputError, match="class ids"):
        train_supernet(Supernet(space), x[:8], y[:8] + 3, epochs=1)
