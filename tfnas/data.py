"""Checks and splits the user's data before any model is built.

Everything a search needs to know about the data (input shape, task, number
of classes or outputs) is read here, and every problem is reported here as a
`TfnasInputError` that names the fix, before an hour of training is spent.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import tensorflow as tf

from tfnas.errors import TfnasInputError
from tfnas.image_files import FileImages
from tfnas.task import Task


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """What the search space needs to know about the data (plain data)."""

    input_shape: tuple[int, ...]
    task: Task
    num_outputs: int
    num_train: int
    num_val: int


@dataclasses.dataclass
class PreparedData:
    """Training and validation data in the form `model.fit` takes, plus their `DataSpec`."""

    spec: DataSpec
    fit_args: tuple
    fit_kwargs: dict[str, Any]


def prepare(
    x: Any,
    y: Any = None,
    *,
    validation_data: Any = None,
    validation_split: float = 0.2,
    task: str | Task | None = None,
    batch_size: int = 32,
    seed: int | None = None,
    validation_groups: Any = None,
    as_files: bool = False,
) -> PreparedData:
    """Validates `x`, `y` and the validation data and splits off a validation set.

    Arrays: `x` of shape `(n, ...)` numeric and finite; `y` of shape `(n,)`
    (integer class ids for classification) or `(n, k)` floats (regression).
    `x` may also be `FileImages` (an image folder, `tfnas.app.sources`):
    its labels are checked and split as arrays, and training and validation
    read the files through `tf.data` (`FileImages.dataset`), never all in memory;
    with `as_files`, training and validation come as `(FileImages, y)` pairs
    instead (for the one-shot oracles, which read batches in an order of their own).
    A `tf.data.Dataset` of batched `(x, y)` pairs needs `validation_data`; it is
    read once for its labels (only they are kept) and then used as it is.
    Without `validation_data`, a seeded, stratified `validation_split` of the
    arrays is held out; with `validation_groups` (one speaker, subject or
    recording id per sample) whole groups are held out instead, so no group
    is on both sides.
    """
    if task is not None:
        task = Task.resolve(task)  # an unknown name fails here, before the data is read
    if validation_groups is not None and (validation_data is not None or isinstance(x, tf.data.Dataset)):
        raise TfnasInputError(
            "validation_groups splits the arrays x, y; with validation_data (or a tf.data.Dataset) there is nothing "
            "to split: drop one of them, and keep each group on one side yourself."
        )
    if isinstance(x, tf.data.Dataset):
        return _prepare_dataset(x, validation_data, task)
    if isinstance(x, FileImages):
        return _prepare_files(x, y, validation_data=validation_data, validation_split=validation_split, task=task,
                              batch_size=batch_size, seed=seed, validation_groups=validation_groups, as_files=as_files)
    x_train, y_train = check_arrays(x, y, "x", "y")
    task = Task.resolve(task, y_train)
    num_outputs = _check_labels(y_train, task, "y")
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TfnasInputError(
                f"validation_data must be a tuple (x_val, y_val). Received: {type(validation_data).__name__}"
                f"{f' of length {len(validation_data)}' if isinstance(validation_data, (tuple, list)) else ''}."
            )
        x_val, y_val = check_arrays(validation_data[0], validation_data[1], "validation x", "validation y")
        if x_val.shape[1:] != x_train.shape[1:]:
            raise TfnasInputError(
                f"Validation x has samples of shape {x_val.shape[1:]} but x has {x_train.shape[1:]}: "
                "give both the same preprocessing."
            )
        if y_val.shape[1:] != y_train.shape[1:]:
            raise TfnasInputError(
                f"Validation y has shape {y_val.shape[1:]} per sample but y has {y_train.shape[1:]}: "
                "encode both the same way (class ids, or targets of the same width)."
            )
        _check_labels(y_val, task, "validation y", num_classes=num_outputs if task.is_classification else None)
    else:
        x_train, y_train, x_val, y_val = _hold_out(x_train, y_train, validation_split, validation_groups, task, seed)
    if task.is_classification and len(x_train) < num_outputs:
        raise TfnasInputError(
            f"Only {len(x_train)} training samples for {num_outputs} classes: every class needs examples. "
            "Collect more data or check the labels."
        )
    if len(x_train) < batch_size:
        raise TfnasInputError(
            f"Only {len(x_train)} training samples, fewer than batch_size={batch_size}: lower batch_size."
        )
    spec = DataSpec(tuple(int(d) for d in x_train.shape[1:]), task, num_outputs, len(x_train), len(x_val))
    return PreparedData(spec, (x_train, y_train), {"validation_data": (x_val, y_val), "batch_size": batch_size})


def check_inputs(x: Any, y: Any, x_name: str, y_name: str) -> tuple[Any, np.ndarray]:
    """`check_arrays`, except that `FileImages` pass through unread (only their labels are checked)."""
    if isinstance(x, FileImages):
        return x, check_arrays(np.arange(len(x))[:, None], y, x_name, y_name)[1]
    return check_arrays(x, y, x_name, y_name)


def in_memory(x: Any, y: Any, max_bytes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`x, y` as arrays: `FileImages` decoded, the first images that fit in `max_bytes` of float32 when given.

    For consumers that need arrays (TFLite verification, compression); a
    split's file order is already shuffled, so its first images are a sample.
    """
    if not isinstance(x, FileImages):
        return x, y
    count = len(x) if max_bytes is None else max(1, min(len(x), max_bytes // (4 * max(1, x.nbytes // max(1, len(x))))))
    return np.asarray(x[:count]), np.asarray(y)[:count]


def check_arrays(x: Any, y: Any, x_name: str, y_name: str) -> tuple[np.ndarray, np.ndarray]:
    """`x` as float32 and `y` as an array, after checking shapes, lengths and values; names the fix."""
    if x is None:
        raise TfnasInputError(f"{x_name} is None: pass a numpy array or a tf.data.Dataset.")
    if y is None:
        raise TfnasInputError(
            f"{y_name} is missing: pass labels as y, or a tf.data.Dataset that yields (x, y) batches."
        )
    x, y = _as_array(x, x_name), _as_array(y, y_name)
    if x.ndim < 2:
        raise TfnasInputError(
            f"{x_name} has shape {x.shape}: it needs a sample axis and at least one feature axis. "
            "Reshape it with x.reshape(len(x), -1) (or (n, 1) for one feature)."
        )
    if len(x) != len(y):
        raise TfnasInputError(f"{x_name} has {len(x)} samples but {y_name} has {len(y)}: they must match one to one.")
    if not np.all(np.isfinite(x)):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise TfnasInputError(
            f"{x_name} holds {bad} NaN or infinite values: impute or drop them (e.g. np.nan_to_num) before searching."
        )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    return x.astype(np.float32, copy=False), y


def _as_array(values: Any, name: str) -> np.ndarray:
    try:
        array = np.asarray(values)
    except ValueError as e:
        raise TfnasInputError(f"{name} cannot be read as one numeric array ({e}): give samples of one shape.") from e
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TfnasInputError(
            f"{name} has dtype {array.dtype}; tfnas needs numbers. Convert it, e.g. np.asarray({name}, dtype='float32'), "
            "and encode text labels as integer class ids (sklearn.preprocessing.LabelEncoder)."
        )
    return array


def _hold_out(x: Any, y: np.ndarray, validation_split: Any, validation_groups: Any, task: Task, seed: Any) -> tuple:
    """`(x_train, y_train, x_val, y_val)`: `validation_split` of the samples held out, by group when groups are given.

    `x` is the inputs, or (for an image folder) the index of its files.
    """
    if not isinstance(validation_split, (int, float)) or not 0.0 < float(validation_split) < 1.0:
        raise TfnasInputError(
            f"validation_split must be between 0 and 1 (exclusive), or pass validation_data. "
            f"Received: validation_split={validation_split!r}"
        )
    if validation_groups is not None:
        groups = _check_groups(validation_groups, len(y))
        return _group_split(x, y, groups, validation_split, seed)
    return _split(x, y, validation_split, task, seed)


def _check_labels(y: np.ndarray, task: Task, name: str, num_classes: int | None = None) -> int:
    """Returns the number of outputs (classes for classification)."""
    if not task.is_classification:
        if not np.all(np.isfinite(y)):
            raise TfnasInputError(f"{name} holds NaN or infinite targets: drop those samples.")
        return 1 if y.ndim == 1 else int(np.prod(y.shape[1:]))
    if y.ndim != 1:
        raise TfnasInputError(
            f"{name} has shape {y.shape}; classification needs one integer class id per sample. "
            "For one-hot labels pass y.argmax(axis=1)."
        )
    if not np.all(np.isfinite(y)) or not np.all(np.equal(np.mod(y, 1), 0)):
        raise TfnasInputError(
            f"{name} holds non-integer labels; classification needs integer class ids 0..K-1. "
            "For a regression target pass task='regression'."
        )
    low, high = int(y.min()), int(y.max())
    limit = num_classes if num_classes is not None else high + 1
    if low < 0 or high >= limit:
        raise TfnasInputError(
            f"{name} has labels from {low} to {high}; they must lie in 0..{limit - 1}. "
            "Re-encode them, e.g. with sklearn.preprocessing.LabelEncoder."
        )
    if num_classes is None and limit < 2:
        raise TfnasInputError(f"{name} holds a single class ({low}): classification needs at least two.")
    return limit


def _split(x: np.ndarray, y: np.ndarray, fraction: float, task: Task, seed: int | None) -> tuple:
    """A seeded split; stratified by class for classification so rare classes reach both sides."""
    rng = np.random.default_rng(seed)
    if task.is_classification:
        picked: list[int] = []
        for label in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == label))
            picked.extend(members[: int(round(len(members) * fraction))])
        val_mask = np.zeros(len(x), dtype=bool)
        val_mask[picked] = True
    else:
        val_mask = np.zeros(len(x), dtype=bool)
        val_mask[rng.permutation(len(x))[: int(round(len(x) * fraction))]] = True
    if val_mask.sum() == 0 or (~val_mask).sum() == 0:
        raise TfnasInputError(
            f"validation_split={fraction} leaves an empty training or validation set for {len(x)} samples: "
            "pass more data or validation_data."
        )
    train_idx, val_idx = rng.permutation(np.flatnonzero(~val_mask)), np.flatnonzero(val_mask)
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


def _check_groups(groups: Any, n: int) -> np.ndarray:
    groups = np.asarray(groups)
    if groups.ndim != 1 or len(groups) != n:
        raise TfnasInputError(
            f"validation_groups has shape {groups.shape}; it needs one group id (speaker, subject, recording) per "
            f"sample of x: shape ({n},)."
        )
    if len(np.unique(groups)) < 2:
        raise TfnasInputError(
            "validation_groups holds a single group: a grouped split needs at least two (one for validation)."
        )
    return groups


def _group_split(x: np.ndarray, y: np.ndarray, groups: np.ndarray, fraction: float, seed: int | None) -> tuple:
    """Whole groups to validation, in a seeded order, until they hold `fraction` of the samples (at least one group)."""
    rng = np.random.default_rng(seed)
    val_mask = np.zeros(len(x), dtype=bool)
    for group in rng.permutation(np.unique(groups)):
        if val_mask.any() and val_mask.mean() >= fraction:
            break
        val_mask |= groups == group
    if val_mask.all():
        raise TfnasInputError(
            f"validation_split={fraction} with these validation_groups leaves no group for training: "
            "lower validation_split or pass more groups."
        )
    train_idx, val_idx = rng.permutation(np.flatnonzero(~val_mask)), np.flatnonzero(val_mask)
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


def _prepare_dataset(dataset: tf.data.Dataset, validation_data: Any, task: Task | None) -> PreparedData:
    spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise TfnasInputError("A tf.data.Dataset must yield (x, y) pairs, batched: dataset.batch(32).")
    if not isinstance(validation_data, tf.data.Dataset):
        raise TfnasInputError(
            "With a tf.data.Dataset, pass validation_data as a tf.data.Dataset too "
            "(validation_split only works on arrays)."
        )
    if validation_data.element_spec[0].shape[1:] != spec[0].shape[1:]:
        raise TfnasInputError(
            f"Validation samples have shape {validation_data.element_spec[0].shape[1:]} but training samples "
            f"{spec[0].shape[1:]}: give both the same preprocessing."
        )
    input_shape = tuple(spec[0].shape[1:])
    if spec[0].shape.rank is None or spec[0].shape.rank < 2 or None in input_shape:
        raise TfnasInputError(
            f"The dataset's x has shape {spec[0].shape}: batch it (dataset.batch(32)) and give every "
            "non-batch axis a fixed size."
        )
    labels = np.concatenate([np.asarray(batch_y).reshape(len(batch_y), -1) for _, batch_y in dataset])
    labels = labels[:, 0] if labels.shape[1] == 1 else labels
    task = Task.resolve(task, labels)
    num_outputs = _check_labels(labels, task, "the dataset's y")
    data_spec = DataSpec(tuple(int(d) for d in input_shape), task, num_outputs, len(labels), -1)
    return PreparedData(data_spec, (dataset,), {"validation_data": validation_data})


def _prepare_files(
    images: FileImages, y: Any, *, validation_data: Any, validation_split: float, task: Task | None, batch_size: int,
    seed: int | None, validation_groups: Any, as_files: bool = False,
) -> PreparedData:
    """An image folder's files: the labels are checked and split as arrays (by index); the images stay on disk."""
    index, labels = check_arrays(np.arange(len(images))[:, None], y, "x", "y")
    task = Task.resolve(task, labels)
    num_outputs = _check_labels(labels, task, "y")
    if validation_data is not None:
        train_idx, y_train = index[:, 0].astype(np.int64), labels
        validation = _validation_files(validation_data, images, task, num_outputs, batch_size, as_files)
        num_val = len(validation_data[1])
    else:
        train, y_train, val, y_val = _hold_out(index, labels, validation_split, validation_groups, task, seed)
        train_idx = train[:, 0].astype(np.int64)
        val_images = images.subset(val[:, 0].astype(np.int64))
        validation = (val_images, y_val) if as_files else val_images.dataset(y_val, batch_size)
        num_val = len(y_val)
    if len(train_idx) < max(batch_size, num_outputs if task.is_classification else 1):
        raise TfnasInputError(
            f"Only {len(train_idx)} training images for batch_size={batch_size} and {num_outputs} classes: "
            "add images or lower batch_size."
        )
    spec = DataSpec(tuple(images.shape[1:]), task, num_outputs, len(train_idx), num_val)
    if as_files:
        return PreparedData(spec, (images.subset(train_idx), y_train), {"validation_data": validation, "batch_size": batch_size})
    train_set = images.subset(train_idx).dataset(y_train, batch_size, shuffle=True, seed=seed)
    return PreparedData(spec, (train_set,), {"validation_data": validation})


def _validation_files(
    validation_data: Any, images: FileImages, task: Task, num_outputs: int, batch_size: int, as_files: bool = False,
) -> Any:
    """`validation_data` for training on files: `(FileImages, y)` streamed, `(x, y)` arrays batched as they are
    (with `as_files`, both checked and kept as pairs)."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise TfnasInputError(f"validation_data must be a tuple (x_val, y_val). Received: {type(validation_data).__name__}.")
    x_val, y_val = validation_data
    if tuple(x_val.shape[1:]) != tuple(images.shape[1:]):
        raise TfnasInputError(
            f"Validation x has samples of shape {tuple(x_val.shape[1:])} but x has {tuple(images.shape[1:])}: "
            "give both the same image_size and color_mode."
        )
    if isinstance(x_val, FileImages):
        _, y_val = check_arrays(np.arange(len(x_val))[:, None], y_val, "validation x", "validation y")
        _check_labels(y_val, task, "validation y", num_classes=num_outputs if task.is_classification else None)
        return (x_val, y_val) if as_files else x_val.dataset(y_val, batch_size)
    x_val, y_val = check_arrays(x_val, y_val, "validation x", "validation y")
    _check_labels(y_val, task, "validation y", num_classes=num_outputs if task.is_classification else None)
    return (x_val, y_val) if as_files else tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(batch_size)
