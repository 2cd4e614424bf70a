"""The one-shot search's inputs: numpy arrays, or an image folder's `FileImages` read batch by batch, never whole.

A supernet trains on its data in a seeded order every epoch, and the
validation images are scored again for every ranked sub-network. Arrays are
sliced as they are. `FileImages` (`tfnas.image_files`) never become one
array: an epoch decodes its files in the epoch's seeded order
(`FileImages.in_order`), so the batches, and a resumed run, are those the
same images as an array would give; data read again and again pass through
the decoded cache (`FileImages.cached`: in memory for small sets, else on
disk). A 20,000-image 96x96x3 folder then needs the batches in flight, not
the 2.2 GB its float32 array would take.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import numpy as np

from tfnas.image_files import FileImages
from tfnas.task import PREDICT_BATCH
from tfnas.task import PREDICT_BYTES
from tfnas.task import predict_batch

__all__ = ["PREDICT_BATCH", "PREDICT_BYTES", "as_inputs", "epoch_batches", "predict", "predict_batch"]


def as_inputs(x: Any) -> np.ndarray | FileImages:
    """`x` as a float32 array, or `FileImages` as they are (no image is read)."""
    return x if isinstance(x, FileImages) else np.asarray(x, np.float32)


def epoch_batches(x: np.ndarray | FileImages, y: np.ndarray, order: np.ndarray, batch_size: int) -> Iterator[tuple[Any, Any]]:
    """`(inputs, labels)` batches of the samples at `order`, in that order (the last batch may be short)."""
    if isinstance(x, FileImages):
        for start, images in zip(range(0, len(order), batch_size), x.in_order(order, batch_size), strict=True):
            yield images, y[order[start : start + batch_size]]
        return
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        yield x[index], y[index]


def predict(fn: Callable[[Any], Any], x: np.ndarray | FileImages, batch_size: int | None = None) -> np.ndarray:
    """`fn`'s outputs over `x` in batches (`predict_batch` by default), concatenated (`FileImages` through their
    decoded cache)."""
    batch_size = batch_size or predict_batch(x)
    if isinstance(x, FileImages):
        batches: Any = x.cached(batch_size)
    else:
        batches = (x[start : start + batch_size] for start in range(0, len(x), batch_size))
    return np.concatenate([np.asarray(fn(batch)) for batch in batches])
