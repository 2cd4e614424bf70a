"""The one-shot search reads an image folder batch by batch: the same supernet updates as the same images as arrays."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfnas.image_files as image_files
from tfnas.app.image_folder import read_image_folder
from tfnas.oneshot import supernet_for
from tfnas.oneshot.inputs import epoch_batches
from tfnas.oneshot.inputs import predict
from tfnas.oneshot.train import train_supernet
from tfnas.spaces import MobileNetSpace
from tfnas.testing.image_folders import never_whole
from tfnas.testing.image_folders import write_folder


def _images(tmp_path, count=10):
    return read_image_folder(str(write_folder(tmp_path / "imgs", count=count, size=(8, 8), noise=30)), None, "rgb")


def test_streamed_supernet_training_equals_the_array_one(tmp_path):
    images, y = _images(tmp_path, count=8)  # 24 images: 3 full batches of 8 (a short one would trace the step again)
    arrays = np.asarray(images)
    space = MobileNetSpace(stem_filters=(8,), stem_strides=(1,), num_stages=(1,), blocks=(1, 2), filters=(8, 16),
                           kernel_sizes=(3,), expansions=(1, 2), strides=(2,), learning_rate=(3e-3,))
    space = space.configure((8, 8, 3), 3, "classification")
    runs = []
    for x in (arrays, never_whole(images)):  # the files never become one array
        keras.utils.set_random_seed(0)
        supernet = supernet_for(space)
        history = train_supernet(supernet, x, y, epochs=2, batch_size=8, num_random=1, seed=3,
                                 validation_data=(x[:12] if x is arrays else x.subset(np.arange(12)), y[:12]))
        runs.append((history, [np.asarray(w) for w in supernet.weights]))
    (array_history, array_weights), (file_history, file_weights) = runs
    for key, values in array_history.history.items():
        if key != "seconds":
            np.testing.assert_allclose(file_history.history[key], values, rtol=1e-4, atol=1e-6, err_msg=key)
    for expected, got in zip(array_weights, file_weights, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_epoch_batches_follow_the_order_with_their_labels(tmp_path):
    images, y = _images(tmp_path, count=4)
    order = np.random.default_rng(0).permutation(len(y))
    batches = list(epoch_batches(never_whole(images), y, order, 5))
    assert [len(labels) for _, labels in batches] == [5, 5, 2]
    pixels = np.concatenate([np.asarray(x) for x, _ in batches])
    np.testing.assert_array_equal(pixels, images[order])  # the decoded images, in the order asked for
    np.testing.assert_array_equal(np.concatenate([labels for _, labels in batches]), y[order])


def test_repeated_predictions_read_the_decoded_cache_not_the_files(tmp_path, monkeypatch):
    for cache_bytes in (image_files.MEMORY_CACHE_BYTES, 0):  # in memory, then on disk under cache_dir
        monkeypatch.setattr(image_files, "MEMORY_CACHE_BYTES", cache_bytes)
        images, _ = _images(tmp_path / str(cache_bytes), count=4)
        images.cache_dir = str(tmp_path / "cache")
        expected = images[:]
        files = never_whole(images)
        first = predict(lambda batch: batch, files, batch_size=5)
        for path in files.paths:
            os.remove(path)
        again = predict(lambda batch: batch, files, batch_size=5)  # the files are gone: only the cache can answer
        np.testing.assert_array_equal(first, expected)
        np.testing.assert_array_equal(again, expected)
        files.drop_cached()
        if cache_bytes:  # the memory cache is freed: the next pass needs the files (a disk cache file stays valid)
            with pytest.raises(tf.errors.NotFoundError):
                predict(lambda batch: batch, files, batch_size=5)


def test_prediction_batches_shrink_with_the_input_size():
    from tfnas.oneshot.inputs import PREDICT_BATCH
    from tfnas.oneshot.inputs import PREDICT_BYTES
    from tfnas.oneshot.inputs import predict_batch

    assert predict_batch(np.zeros((3, 8, 8, 1))) == PREDICT_BATCH  # small inputs: the full batch
    assert 4 * 96 * 96 * 3 * predict_batch(np.zeros((3, 96, 96, 3))) <= PREDICT_BYTES < PREDICT_BATCH * 4 * 96 * 96 * 3
    x = np.random.default_rng(0).random((10, 96, 96, 3), np.float32)
    np.testing.assert_array_equal(predict(lambda batch: batch, x, batch_size=3), x)  # every sample once, in order


def test_task_quality_scores_large_inputs_in_bounded_batches():
    # A search's test evaluation (`Result.evaluate`) scores each candidate through `Task.quality`: at 96x96x3 it must
    # call the model on `predict_batch` samples at a time, not 256 (that batch was a 20,000-image search's peak memory).
    from tfnas.task import Task
    from tfnas.task import predict_batch

    x = np.random.default_rng(0).random((300, 96, 96, 3), np.float32)
    y = np.arange(300) % 3
    seen = []

    def model(batch, training=False):
        seen.append(len(batch))
        return np.eye(3, dtype=np.float32)[y[sum(seen) - len(batch) : sum(seen)]]  # right only in order

    assert Task.resolve(None, y).quality(model, x, y) == 1.0  # every sample scored once, in order
    assert max(seen) == predict_batch(x) < 256 and sum(seen) == 300
