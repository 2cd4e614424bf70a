"""Images on disk as a lazy array: labels from the file list, pixels decoded batch by batch through `tf.data`.

An image folder of tens of thousands of photos does not fit in memory as
float32 (20,000 images of 224x224x3 are 12 GB). `FileImages` holds only
the paths: `dataset()` reads, decodes, resizes and batches them through
`tf.data`, caches the decoded uint8 pixels (in memory when the set is
small, `MEMORY_CACHE_BYTES`; else in a file under `cache_dir`, removed
when the process exits) and prefetches. Indexing (`images[:200]`)
decodes just those images, so code written for arrays that reads a
bounded slice (int8 calibration, `Task.quality`'s batches) works unchanged;
`np.asarray(images)` reads them all, for the few consumers that need arrays.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

IMAGE_SCALE = 1.0 / 255.0  # pixels come back as floats in [0, 1]
MEMORY_CACHE_BYTES = 256 * 2**20  # decoded uint8 sets up to this size are cached in memory, larger ones on disk
SHUFFLE_BYTES = 64 * 2**20  # the shuffle buffer of decoded images (the file order is shuffled once by the split)
CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
_CACHE_DIRS: list[str] = []  # files this process cached into, removed at exit


class FileImages:
    """Image files read as an array of shape `(n, height, width, channels)`, float32 in [0, 1], on demand.

    Example:

    ```python
    images = FileImages(["a/1.png", "b/2.jpg"], (96, 96), 3, class_names=("a", "b"))
    dataset = images.dataset(np.array([0, 1]), batch_size=32, shuffle=True)
    ```

    Args:
        paths: the image files (PNG, JPEG, BMP or GIF).
        image_size: `(height, width)` every image is resized to (bilinear).
        channels: 1, 3 or 4: every image is converted to this many channels.
        class_names: the label names, in label id order.
        cache_dir: folder for the on-disk cache of large sets; defaults to the
            system's temporary folder. `tfnas search CONFIG` sets it to the run directory.
    """

    def __init__(
        self, paths: Sequence[str] | np.ndarray, image_size: tuple[int, int], channels: int, class_names: Sequence[str] = (),
        cache_dir: str | None = None,
    ) -> None:
        self.paths = np.asarray(paths, dtype=str)
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.channels = int(channels)
        self.class_names = tuple(class_names)
        self.cache_dir = cache_dir
        self._cached: dict[int, tf.data.Dataset] = {}  # `cached`'s datasets by batch size: each holds its decoded cache

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.paths), *self.image_size, self.channels)

    @property
    def ndim(self) -> int:
        return 4

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    @property
    def nbytes(self) -> int:
        """Bytes of the decoded uint8 pixels (what the cache holds)."""
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        return f"FileImages({len(self)} files, shape={self.shape})"

    def __getitem__(self, index: Any) -> np.ndarray:
        """Decodes the images `index` picks (an int, a slice or an index array), as a float32 array."""
        if isinstance(index, (int, np.integer)):
            return self[[int(index)]][0]
        picked = self.paths[index]
        if len(picked) == 0:
            return np.zeros((0, *self.shape[1:]), np.float32)
        dataset = tf.data.Dataset.from_tensor_slices(picked).map(self._decode, num_parallel_calls=tf.data.AUTOTUNE)
        batch = dataset.batch(len(picked)).get_single_element()
        return batch.numpy().astype(np.float32) * np.float32(IMAGE_SCALE)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """Every image, decoded: for consumers that need arrays (bounded slices are cheaper)."""
        chunks = [self[i : i + 256] for i in range(0, len(self), 256)]
        array = np.concatenate(chunks) if chunks else self[:0]
        return array if dtype is None else array.astype(dtype)

    def subset(self, indices: Any) -> FileImages:
        """The files at `indices`, in that order (no image is read)."""
        return FileImages(self.paths[np.asarray(indices, dtype=np.int64)], self.image_size, self.channels,
                          self.class_names, self.cache_dir)

    def dataset(self, y: Any = None, batch_size: int = 32, shuffle: bool = False, seed: int | None = None) -> tf.data.Dataset:
        """Batches of `(images, labels)` (or of images when `y` is None): decoded, cached, shuffled, prefetched.

        Args:
            y: one label per file, or None.
            batch_size: int, images per batch.
            shuffle: reshuffle every epoch, within a buffer of `SHUFFLE_BYTES` of decoded images.
            seed: the shuffle's seed.
        """
        paths = tf.data.Dataset.from_tensor_slices(self.paths)
        if y is None:
            dataset = paths.map(self._decode, num_parallel_calls=tf.data.AUTOTUNE)
        else:
            labels = tf.data.Dataset.from_tensor_slices(np.asarray(y))
            dataset = tf.data.Dataset.zip((paths, labels))
            dataset = dataset.map(lambda p, label: (self._decode(p), label), num_parallel_calls=tf.data.AUTOTUNE)
        dataset = dataset.cache(self._cache_file(y))
        if shuffle:
            per_image = max(1, self.nbytes // max(1, len(self)))
            buffer = int(min(len(self), max(64, SHUFFLE_BYTES // per_image)))
            dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size)
        scale = tf.constant(IMAGE_SCALE, tf.float32)
        if y is None:
            dataset = dataset.map(lambda image: tf.cast(image, tf.float32) * scale)
        else:
            dataset = dataset.map(lambda image, label: (tf.cast(image, tf.float32) * scale, label))
        return dataset.prefetch(tf.data.AUTOTUNE)

    def in_order(self, order: Any, batch_size: int) -> tf.data.Dataset:
        """Float32 batches of the files at `order` (an index array), in that order: decoded in parallel, prefetched, not cached.

        For a pass in an order of the caller's (a supernet epoch's seeded
        permutation, which a resumed run repeats): each file is decoded
        again, and only the batches in flight are in memory.
        """
        paths = tf.data.Dataset.from_tensor_slices(self.paths[np.asarray(order, dtype=np.int64)])
        scale = tf.constant(IMAGE_SCALE, tf.float32)
        dataset = paths.map(self._decode, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size)
        return dataset.map(lambda image: tf.cast(image, tf.float32) * scale).prefetch(tf.data.AUTOTUNE)

    def cached(self, batch_size: int) -> tf.data.Dataset:
        """Float32 batches of every file in file order, through one dataset kept per batch size.

        The first full pass decodes the files into the dataset's cache (in
        memory or on disk, as `dataset`); every later pass reads the cache:
        for sets read many times, e.g. the validation images every ranked
        sub-network is scored on.
        """
        if batch_size not in self._cached:
            self._cached[batch_size] = self.dataset(None, batch_size)
        return self._cached[batch_size]

    def drop_cached(self) -> None:
        """Frees the decoded caches `cached` keeps (a later `cached` pass decodes the files again).

        For when the passes that read them are over: a one-shot search's
        ranking scores every sub-network on the validation images through
        `cached`, then its trials read the same images through `dataset`'s
        own cache, and both in memory made the 20,000-image search's peak.
        """
        self._cached.clear()

    def _decode(self, path: tf.Tensor) -> tf.Tensor:
        """One file as uint8 `(height, width, channels)`, resized (bilinear, as Keras's image loader)."""
        image = tf.io.decode_image(tf.io.read_file(path), channels=self.channels, expand_animations=False)
        image = tf.image.resize(image, self.image_size, method="bilinear")
        image = tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)
        return tf.ensure_shape(image, (*self.image_size, self.channels))

    def _cache_file(self, y: Any = None) -> str:
        """"" (memory) for a small set; else a file of this process's own (no two processes share one).

        The name covers the labels too: a file cached by an images-only pass
        (predictions) must never be read back by a labelled one (training):
        tf.data would fail on the element types ("actual uint8 vs. expect int64").
        """
        if self.nbytes <= MEMORY_CACHE_BYTES:
            return ""
        parts = [*self.paths.tolist(), str(self.shape)]
        if y is not None:
            labels = np.asarray(y)
            parts += [str(labels.dtype), hashlib.sha1(labels.tobytes()).hexdigest()]
        key = hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]
        folder = os.path.join(self.cache_dir or tempfile.gettempdir(), f"tfnas_cache_{os.getpid()}")
        if folder not in _CACHE_DIRS:
            os.makedirs(folder, exist_ok=True)
            _CACHE_DIRS.append(folder)
        return os.path.join(folder, f"{'labelled' if y is not None else 'images'}_{key}")


@atexit.register
def _remove_caches() -> None:
    for folder in _CACHE_DIRS:
        shutil.rmtree(folder, ignore_errors=True)
