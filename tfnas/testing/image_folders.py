"""Image folders for tests: small folders written with TensorFlow, and `FileImages` that fail when read whole."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from tfnas.image_files import FileImages


def write_folder(
    root: Any, classes: Sequence[str] = ("cat", "dog", "owl"), count: int = 12, size: tuple[int, int] = (10, 8),
    channels: int = 3, noise: float = 0.0, seed: int = 0,
) -> Any:
    """`count` images per class under `root/<class>/`, half PNG and half (quality 100) JPEG.

    Class i is a flat grey level 40 + 80 i, so a label can be read back
    from the pixels; `noise` adds uniform noise of that many grey levels
    (seeded), so that models have something to learn beyond the level.
    """
    rng = np.random.default_rng(seed)
    for label, name in enumerate(classes):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(count):
            pixels = 40.0 + 80.0 * label + rng.uniform(-noise, noise, (*size, channels))
            image = tf.constant(np.clip(np.round(pixels), 0, 255).astype(np.uint8))
            encoded = tf.io.encode_png(image) if i % 2 else tf.io.encode_jpeg(image, quality=100)
            tf.io.write_file(os.path.join(str(root), name, f"{i:03d}.{'png' if i % 2 else 'jpg'}"), encoded)
    return root


class NeverWhole(FileImages):
    """`FileImages` that fail the test if anything reads every image into one array (`np.asarray`)."""

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise AssertionError("the whole image set was read into memory")

    def subset(self, indices: Any) -> FileImages:
        return never_whole(super().subset(indices))


def never_whole(images: FileImages) -> NeverWhole:
    """The same files as `images`, as `NeverWhole`."""
    return NeverWhole(images.paths, images.image_size, images.channels, images.class_names, images.cache_dir)
