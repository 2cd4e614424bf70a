"""`Training`: one recipe for trials, final training and compression, checked before any training."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest

import tfnas
from tfnas.errors import TfnasInputError
from tfnas.spaces import MLPSpace
from tfnas.training import Training


@pytest.mark.parametrize(
    "fields,match",
    [
        ({"schedule": "linear"}, r"schedule='linear' must be one of \('cosine', 'plateau', 'constant'\)"),
        ({"label_smoothing": 1.5}, r"label_smoothing=1.5 must be a number in \[0, 1.0\)"),
        ({"patience": 0}, r"patience=0 must be an integer >= 1 or None"),
        ({"batch_size": 2.5}, r"batch_size=2.5 must be an integer"),
        ({"shift": -0.1}, r"shift=-0.1 must be a number"),
        ({"warmup_epochs": -1}, r"warmup_epochs=-1 must be an integer >= 0"),
        ({"weight_decay": "a lot"}, r"weight_decay='a lot'"),
    ],
)
def test_bad_recipe_values_name_the_field(fields, match):
    with pytest.raises(TfnasInputError, match=match):
        Training(**fields)
    with pytest.raises(TfnasInputError, match=match):
        Training.from_any(fields)


def test_unknown_recipe_key_gets_the_nearest_name():
    with pytest.raises(TfnasInputError, match=r"training.label_smooting.*did you mean 'training.label_smoothing'"):
        Training.from_any({"label_smooting": 0.1})


def test_bad_recipe_fails_the_search_before_training(tmp_path):
    x = np.random.default_rng(0).random((40, 4), dtype=np.float32)
    with pytest.raises(TfnasInputError, match="schedule"):
        tfnas.search(x, np.arange(40) % 2, training={"schedule": "step"}, directory=str(tmp_path))
    assert not list(tmp_path.iterdir())  # nothing was written, so nothing was trained


def test_cosine_schedule_warms_up_then_decays_to_zero():
    schedule = Training(warmup_epochs=2).learning_rate(0.01, total_steps=100, steps_per_epoch=10)
    rates = [float(schedule(step)) for step in (0, 10, 20, 60, 100)]
    assert rates[0] == pytest.approx(0.0) and rates[1] == pytest.approx(0.005)
    assert rates[2] == pytest.approx(0.01) and rates[3] == pytest.approx(0.005, rel=1e-3)
    assert rates[4] == pytest.approx(0.0, abs=1e-9)
    assert Training(schedule="constant").learning_rate(0.01, 100, 10) == 0.01
    assert Training(schedule="plateau").callbacks()[0].__class__.__name__ == "ReduceLROnPlateau"


def test_weight_decay_picks_adamw():
    assert isinstance(Training(weight_decay=1e-4).optimizer(0.01, 10, 1), keras.optimizers.AdamW)
    assert type(Training(weight_decay=0.0).optimizer(0.01, 10, 1)) is keras.optimizers.Adam


def _model() -> keras.Model:
    space = MLPSpace(units=(16,), num_layers=(1,), learning_rate=(3e-3,)).configure((64,), 10, "classification")
    keras.utils.set_random_seed(0)
    return space.build(kt.HyperParameters())


def test_label_smoothing_raises_the_loss_of_confident_answers():
    model = _model()
    y_true = np.array([0, 1])
    y_pred = np.array([[0.99] + [0.01 / 9] * 9, [0.01 / 9] + [0.99] + [0.01 / 9] * 8], dtype=np.float32)
    smoothed = Training(label_smoothing=0.1).loss(model)
    plain = keras.losses.SparseCategoricalCrossentropy()
    assert float(keras.ops.mean(smoothed(y_true, y_pred))) > float(plain(y_true, y_pred)) + 0.1
    assert Training(label_smoothing=0.0).loss(model) == "sparse_categorical_crossentropy"


def test_fit_puts_the_model_compile_back(digits, tmp_path):
    (x, y), _ = digits
    model = _model()
    x = x.reshape(len(x), -1)
    history = Training(label_smoothing=0.1, weight_decay=1e-4).fit(model, x[:256], y[:256], epochs=2, batch_size=32)
    assert len(history.history["loss"]) == 2
    assert model.loss == "sparse_categorical_crossentropy"
    assert type(model.optimizer) is keras.optimizers.Adam and float(model.optimizer.learning_rate) == pytest.approx(3e-3)
    model.save(tmp_path / "m.keras")
    assert keras.models.load_model(tmp_path / "m.keras").loss == "sparse_categorical_crossentropy"


def test_augmentation_is_outside_the_model(digits):
    (x, y), _ = digits
    recipe = Training(shift=0.25, noise=0.1)
    names = [type(layer).__name__ for layer in recipe.augmenter((8, 8, 1)).layers]
    assert names == ["RandomTranslation", "GaussianNoise"]
    names = [type(layer).__name__ for layer in recipe.augmenter((40, 1)).layers]
    assert names == ["Reshape", "RandomTranslation", "Reshape", "GaussianNoise"]
    assert recipe.augmenter((20,)).layers[0].__class__.__name__ == "GaussianNoise"  # vectors are never shifted
    assert Training().augmenter((8, 8, 1)) is None
    batch, labels = next(iter(recipe.dataset(x[:64], y[:64], 64)))
    assert batch.shape == (64, 8, 8, 1) and sorted(np.asarray(labels)) == sorted(y[:64])
    assert not np.allclose(np.sort(np.asarray(batch).ravel()), np.sort(x[:64].ravel()))  # shifted and noisy


class _Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.values = []

    def on_epoch_end(self, epoch, logs=None):
        self.values.append(float(logs["val_accuracy"]))


def test_a_trial_reports_its_last_epoch_and_early_stopping_counts_epochs(digits, tmp_path):
    (x, y), _ = digits
    x = x.reshape(len(x), -1)[:400]
    recorder = _Recorder()
    space = MLPSpace(units=(8,), num_layers=(1,), dropout=(0.0,), learning_rate=(1e-2,))
    result = tfnas.search(
        x, y[:400], space=space, max_trials=1, epochs=6, seed=0, directory=str(tmp_path), verbose=0, callbacks=[recorder],
        training={"schedule": "constant", "patience": 1},
    )
    (trial,) = result.completed
    assert trial.metrics["val_accuracy"] == pytest.approx(recorder.values[-1])
    assert trial.metrics["epochs"] == len(recorder.values)
    noisy = np.random.default_rng(0).integers(0, 10, 400)  # nothing to learn: early stopping ends the trial early
    recorder.values.clear()
    result = tfnas.search(
        x, noisy, space=space, max_trials=1, epochs=30, seed=0, directory=str(tmp_path), project_name="noise",
        verbose=0, callbacks=[recorder], training={"schedule": "constant", "patience": 2},
    )
    assert result.completed[0].metrics["epochs"] == len(recorder.values) < 30


def test_a_users_own_loss_and_metric_survive_the_recipe(digits):
    """Unregistered custom objects cannot go through get_compile_config; the recipe keeps the objects themselves."""
    (x, y), _ = digits
    x = x.reshape(len(x), -1)[:200]

    def my_loss(y_true, y_pred):
        return keras.losses.sparse_categorical_crossentropy(y_true, y_pred)

    class MyAccuracy(keras.metrics.SparseCategoricalAccuracy):
        pass

    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
    optimizer = keras.optimizers.Adam(5e-3)
    model.compile(optimizer=optimizer, loss=my_loss, metrics=[MyAccuracy(name="mine")])
    history = Training(label_smoothing=0.0).fit(model, x, y[:200], epochs=2, batch_size=32, validation_data=(x, y[:200]))
    assert "val_mine" in history.history
    assert model.loss is my_loss and model.optimizer is optimizer


def test_batchnorm_is_estimated_in_chunks_as_the_whole_sample_would_be():
    from tfnas.training import BATCHNORM_CHUNK
    from tfnas.training import recalibrate_batchnorm

    inputs = keras.Input((6,))
    dense = keras.layers.Dense(4)
    model = keras.Model(inputs, keras.layers.BatchNormalization(momentum=0.9)(dense(inputs)))
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(2 * BATCHNORM_CHUNK + 22, 6)).astype("float32")
    recalibrate_batchnorm(model, x)  # three calls: two full chunks and a short one
    norm = model.layers[-1]
    seen = np.asarray(dense(x))
    np.testing.assert_allclose(norm.moving_mean.numpy(), seen.mean(axis=0), rtol=1e-5, atol=1e-5)
    chunks = [seen[i : i + BATCHNORM_CHUNK] for i in range(0, len(seen), BATCHNORM_CHUNK)]
    weighted = sum(len(c) * c.var(axis=0) for c in chunks) / len(seen)
    np.testing.assert_allclose(norm.moving_variance.numpy(), weighted, rtol=1e-4)
    assert norm.momentum == 0.9
