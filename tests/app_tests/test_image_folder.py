"""Image folders read from disk through `tf.data`: split on the file list, streamed, checked up front, class names kept."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfnas.app.image_folder import read_image_folder
from tfnas.app.sources import load_data
from tfnas.data import prepare
from tfnas.errors import TfnasInputError
from tfnas.image_files import FileImages
from tfnas.task import Task
from tfnas.testing.image_folders import never_whole
from tfnas.testing.image_folders import write_folder
from tfnas.training import Training


def _folder(root, classes=("cat", "dog", "owl"), count=12, size=(10, 8), channels=3):
    """Each class a flat grey level (class i: 40 + 80 i), so a label can be read back from the pixels."""
    return write_folder(root, classes, count, size, channels)


def test_split_is_on_the_file_list_seeded_and_stratified(tmp_path):
    _folder(tmp_path / "imgs")
    data = {"source": "imgs", "test_split": 0.25, "seed": 3}
    (x, y), (x_test, y_test) = load_data(data, str(tmp_path))
    assert isinstance(x, FileImages) and x.class_names == ("cat", "dog", "owl")
    assert x.shape == (27, 10, 8, 3) and x_test.shape == (9, 10, 8, 3)  # the images' own size without image_size
    assert np.bincount(y_test).tolist() == [3, 3, 3]  # stratified
    assert not set(x.paths) & set(x_test.paths)
    (again, _), _ = load_data(data, str(tmp_path))
    assert again.paths.tolist() == x.paths.tolist()  # seeded
    pixels = x[:]
    assert pixels.dtype == np.float32 and 0.0 <= pixels.min() and pixels.max() <= 1.0
    np.testing.assert_allclose(pixels.mean(axis=(1, 2, 3)), (40 + 80 * y) / 255.0, atol=2 / 255)  # labels match the files


def test_prepare_streams_batches_and_never_reads_the_whole_set(tmp_path):
    images, y = read_image_folder(str(_folder(tmp_path / "imgs", count=20)), [6, 6], "grayscale")
    images = never_whole(images)
    data = prepare(images, y, batch_size=8, seed=0)
    assert data.spec.input_shape == (6, 6, 1) and data.spec.num_outputs == 3
    assert data.spec.num_train + data.spec.num_val == 60
    (train,) = data.fit_args
    assert isinstance(train, tf.data.Dataset) and isinstance(data.fit_kwargs["validation_data"], tf.data.Dataset)
    seen = [(batch_x.numpy(), batch_y.numpy()) for batch_x, batch_y in train]
    assert max(len(bx) for bx, _ in seen) == 8 and sum(len(bx) for bx, _ in seen) == data.spec.num_train  # batches
    for batch_x, batch_y in seen:  # the streamed labels belong to the streamed pixels
        np.testing.assert_allclose(batch_x.mean(axis=(1, 2, 3)), (40 + 80 * batch_y) / 255.0, atol=2 / 255)
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = Training().fit(model, train, epochs=2, validation_data=data.fit_kwargs["validation_data"])
    assert len(history.history["val_accuracy"]) == 2

    def by_grey_level(batch, training=False):  # a "model" that reads the class from the grey level
        return tf.one_hot(tf.cast(tf.round((tf.reduce_mean(batch, axis=(1, 2, 3)) * 255.0 - 40.0) / 80.0), tf.int32), 3)

    assert Task.resolve(None, y).quality(by_grey_level, images, y, batch_size=16) == 1.0  # read in slices of 16


def test_grayscale_folder_read_as_rgb_and_resized(tmp_path):
    _folder(tmp_path / "imgs", channels=1, count=4)
    (x, _), _ = load_data({"source": "imgs", "image_size": [5, 7], "color_mode": "rgb"}, str(tmp_path))
    first = x[0]
    assert first.shape == (5, 7, 3) and np.allclose(first[..., 0], first[..., 2])


def test_mixed_channels_are_refused_naming_a_file_of_each_kind(tmp_path):
    root = _folder(tmp_path / "imgs", count=4)
    tf.io.write_file(str(root / "cat" / "gray.png"), tf.io.encode_png(tf.zeros((10, 8, 1), tf.uint8)))
    with pytest.raises(TfnasInputError, match=r"mixes grayscale and colour images \(1 grayscale, e.g. .*gray\.png.*12 colour"):
        load_data({"source": "imgs"}, str(tmp_path))


def test_unreadable_file_is_refused_naming_it(tmp_path):
    root = _folder(tmp_path / "imgs", count=4)
    (root / "dog" / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(TfnasInputError, match=r"Cannot read the image .*dog/broken\.jpg.*replace or remove the file"):
        load_data({"source": "imgs"}, str(tmp_path))


def test_mixed_sizes_need_image_size(tmp_path):
    root = _folder(tmp_path / "imgs", count=4)
    tf.io.write_file(str(root / "owl" / "big.png"), tf.io.encode_png(tf.zeros((20, 20, 3), tf.uint8)))
    with pytest.raises(TfnasInputError, match=r"2 sizes, e.g. 10x8 .* and 20x20 \(.*big\.png.*set data.image_size"):
        load_data({"source": "imgs"}, str(tmp_path))
    (x, _), _ = load_data({"source": "imgs", "image_size": [9, 9]}, str(tmp_path))
    assert x.shape[1:] == (9, 9, 3)


def test_no_images_and_one_class_are_refused(tmp_path):
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(TfnasInputError, match=r"No images in .*empty"):
        load_data({"source": "empty"}, str(tmp_path))
    _folder(tmp_path / "one", classes=("only",), count=4)
    with pytest.raises(TfnasInputError, match=r"one class folder \(\['only'\]\)"):
        load_data({"source": "one"}, str(tmp_path))


def test_large_sets_cache_on_disk_in_cache_dir(tmp_path, monkeypatch):
    import tfnas.image_files as image_files

    images, y = read_image_folder(str(_folder(tmp_path / "imgs", count=4)), None, "rgb")
    images.cache_dir = str(tmp_path / "runs")
    monkeypatch.setattr(image_files, "MEMORY_CACHE_BYTES", 0)
    batches = list(images.dataset(y, batch_size=5))
    assert sum(len(b) for b, _ in batches) == 12
    cached = [name for _, _, files in os.walk(tmp_path / "runs") for name in files]
    assert any(name.startswith("labelled_") and name.endswith(".index") for name in cached)
    again = np.concatenate([b for b, _ in images.dataset(y, batch_size=5)])  # read back from the cache file
    np.testing.assert_allclose(again, np.concatenate([b for b, _ in batches]))


def test_an_images_only_cache_file_is_never_read_as_a_labelled_one(tmp_path, monkeypatch):
    import tfnas.image_files as image_files

    images, y = read_image_folder(str(_folder(tmp_path / "imgs", count=4)), None, "rgb")
    images.cache_dir = str(tmp_path / "runs")
    monkeypatch.setattr(image_files, "MEMORY_CACHE_BYTES", 0)
    predicted = np.concatenate(list(images.dataset(None, batch_size=5)))  # ranking's pass: images only, cached
    labelled = list(images.dataset(y, batch_size=5))  # a trial's training pass over the same files
    np.testing.assert_allclose(np.concatenate([b for b, _ in labelled]), predicted)
    np.testing.assert_array_equal(np.concatenate([labels for _, labels in labelled]), y)
    relabelled = np.concatenate([labels for _, labels in images.dataset(1 - y, batch_size=5)])  # other labels, same files
    np.testing.assert_array_equal(relabelled, 1 - y)


def test_export_writes_the_class_names_next_to_the_file(tmp_path):
    import yaml

    from tfnas.export import export

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    report = export(model, str(tmp_path / "m.tflite"), quantization="float32", labels=["cat", "dog", "owl"])
    assert (tmp_path / "m_labels.txt").read_text() == "cat\ndog\nowl\n"
    with open(report.report_path) as f:
        assert yaml.safe_load(f)["labels"] == ["cat", "dog", "owl"]


def test_class_names_reach_the_result_and_the_deployed_file(tmp_path):
    """A config run on an image folder, search to int8 export, never reads the whole folder into memory."""
    import yaml

    from tfnas.app.config import parse_config
    from tfnas.app.pipeline import deploy
    from tfnas.app.pipeline import run_search
    from tfnas.result import SearchResult

    _folder(tmp_path / "imgs", count=8, size=(8, 8))
    config = parse_config(
        {
            "data": {"source": "imgs"},
            "search": {"max_trials": 1, "epochs": 1, "batch_size": 8, "directory": str(tmp_path / "runs"), "verbose": 0,
                       "seed": 0},
            "export": {"quantization": "int8", "filename": "m.tflite", "verify": True},
        },
        path=str(tmp_path / "tfnas.yaml"),
    )
    (x, y), (x_test, y_test) = load_data(config.data, config.base_dir)
    data = ((never_whole(x), y), (never_whole(x_test), y_test))  # search, test scores and export read slices only
    result = run_search(config, data)
    result.evaluate(x_test, y_test)
    with open(os.path.join(result.project_dir, "result.yaml")) as f:
        assert yaml.safe_load(f)["class_names"] == ["cat", "dog", "owl"]
    assert SearchResult.load(result.project_dir).class_names == ["cat", "dog", "owl"]
    report = deploy(config, result, data, str(tmp_path / "out"))
    assert report["export"]["labels"] == ["cat", "dog", "owl"]
    assert report["verify"]["samples"] == len(y_test)  # the whole test split fits VERIFY_BYTES: verified on LiteRT and TFLM
    assert (tmp_path / "out" / "m_labels.txt").read_text().split() == ["cat", "dog", "owl"]


def test_in_memory_reads_a_bounded_head_of_the_files(tmp_path):
    from tfnas.data import in_memory

    images, y = read_image_folder(str(_folder(tmp_path / "imgs", count=4)), None, "rgb")  # 10x8x3: 960 bytes as float32
    x, head = in_memory(never_whole(images), y, max_bytes=960 * 5)
    assert x.shape == (5, 10, 8, 3) and head.tolist() == y[:5].tolist()
    arrays = np.zeros((3, 2)), np.arange(3)
    assert in_memory(*arrays, max_bytes=1)[0] is arrays[0]  # arrays pass through as they are


def test_the_command_line_scale_is_the_loader_scale():
    import tfnas.app.sources as sources
    import tfnas.image_files as image_files

    assert sources.IMAGE_SCALE == image_files.IMAGE_SCALE


def test_one_shot_search_reads_the_folder_in_batches_never_whole(tmp_path):
    """The supernet trains, ranks and fine-tunes from the files (the folder is never one array), as arrays would."""
    import tfnas
    from tfnas.spaces import MobileNetSpace

    images, y = read_image_folder(str(write_folder(tmp_path / "imgs", count=16, size=(8, 8), noise=30)), None, "rgb")
    space = MobileNetSpace(stem_filters=(8,), stem_strides=(1,), num_stages=(1,), blocks=(1, 2), filters=(8, 16),
                           kernel_sizes=(3,), expansions=(1, 2), strides=(2,), learning_rate=(3e-3,))
    oracle = {"name": "oneshot", "supernet_epochs": 1, "num_ranked": 4, "num_random": 0, "population_size": 2,
              "frame": {"stem_strides": 1, "strides": 2}}
    result = tfnas.search(never_whole(images), y, space=space, oracle=oracle, max_trials=3, epochs=1, batch_size=8,
                          directory=str(tmp_path / "runs"), seed=0, verbose=0)
    assert result.oneshot["ranked"] == 4 and result.oneshot["supernet_epochs"] == 1
    assert len(result.completed) == 1  # the supernet (1 epoch x 2 sub-networks) costs 2 of the 3 trials
    assert result.class_names == ["cat", "dog", "owl"]
