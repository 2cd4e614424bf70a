"""Data sources a config names: built-in digits and MNIST-1D, `.npz`, `.npy`, an image folder, a CSV.

Every source returns `(x, y), (x_test, y_test)`, what `tfnas.search` takes:
numpy arrays, except an image folder's `x` and `x_test`, which are
`tfnas.image_files.FileImages` (the files, decoded through `tf.data` as
training reads them; `np.asarray` reads them all) with numpy labels. When a
file has no test part, a seeded, stratified `test_split` of it (of the file
list, for an image folder) is held out. Paths are relative to the config's folder.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from tfnas.errors import TfnasInputError

BUILT_IN = ("digits", "mnist1d")
# image folders come back as floats in [0, 1]: `tfnas.image_files.IMAGE_SCALE`, repeated here because the command line
# imports this module before TensorFlow (tfnas.image_files imports it)
IMAGE_SCALE = 1.0 / 255.0


def load_data(data: dict[str, Any], base_dir: str | None = None) -> tuple:
    """Loads the `data` section of a config (see `tfnas.app.config.SCHEMA["data"]`).

    Example:

    ```python
    (x, y), (x_test, y_test) = load_data({"source": "runs.npz", "x_key": "features"})
    ```

    Returns:
        `(x, y), (x_test, y_test)`: numpy arrays, or for an image folder
        `FileImages` (pixels in [0, 1], `class_names` the sub-folders) and numpy labels.

    Raises:
        TfnasInputError: a missing file, key or column, or an unknown source.
    """
    options = {"x_key": "x", "y_key": "y", "x_test_key": "x_test", "y_test_key": "y_test", "label_column": "label",
               "color_mode": "rgb", "test_split": 0.25, "seed": 0, **data}
    source = str(options["source"])
    if source in BUILT_IN:
        return _built_in(source)
    path = _path(source, base_dir)
    if os.path.isdir(path):
        return _image_folder(path, options)
    if not os.path.exists(path):
        raise TfnasInputError(
            f"No data at {path!r} (data.source={source!r}): give one of {list(BUILT_IN)}, or the path of a .npz, "
            ".npy or .csv file or of an image folder (one sub-folder per class), relative to the config file."
        )
    extension = os.path.splitext(path)[1].lower()
    if extension == ".npz":
        return _npz(path, options)
    if extension == ".npy":
        return _npy(path, options, base_dir)
    if extension == ".csv":
        return _csv(path, options)
    raise TfnasInputError(f"Cannot read {path!r}: data.source must be a .npz, .npy or .csv file or an image folder.")


def source_from_argument(value: str) -> tuple[dict[str, Any], str | None]:
    """A command line `--data`: a YAML config (its data section) or a source; returns `(data section, base dir)`."""
    if value.lower().endswith((".yaml", ".yml")):
        from tfnas.app.config import load_config

        config = load_config(value)
        return config.data, config.base_dir
    return {"source": value}, None


def _path(path: str, base_dir: str | None) -> str:
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) or base_dir is None else os.path.join(base_dir, path)


def _built_in(name: str) -> tuple:
    from tfnas.demo import load_digits_images
    from tfnas.demo import load_mnist1d

    if name == "digits":
        return load_digits_images()
    try:
        return load_mnist1d()
    except ImportError:
        raise TfnasInputError("data.source 'mnist1d' needs the mnist1d package: pip install mnist1d.") from None


def _npz(path: str, options: dict[str, Any]) -> tuple:
    with np.load(path, allow_pickle=False) as archive:
        keys = list(archive.keys())
        for role in ("x_key", "y_key"):
            if options[role] not in keys:
                raise TfnasInputError(
                    f"{path} has no array {options[role]!r} (data.{role}); it holds {keys}. Set data.{role} to one of them."
                )
        x, y = archive[options["x_key"]], archive[options["y_key"]]
        if options["x_test_key"] in keys and options["y_test_key"] in keys:
            return (x, y), (archive[options["x_test_key"]], archive[options["y_test_key"]])
    return _split(x, y, options)


def _npy(path: str, options: dict[str, Any], base_dir: str | None) -> tuple:
    if not options.get("y_file"):
        raise TfnasInputError(f"{path} holds only x: set data.y_file to the .npy file of its labels.")
    x, y = _load_npy(path, "source"), _load_npy(_path(options["y_file"], base_dir), "y_file")
    if options.get("x_test_file") or options.get("y_test_file"):
        if not (options.get("x_test_file") and options.get("y_test_file")):
            raise TfnasInputError("Set both data.x_test_file and data.y_test_file, or neither (a test_split is held out).")
        x_test = _load_npy(_path(options["x_test_file"], base_dir), "x_test_file")
        return (x, y), (x_test, _load_npy(_path(options["y_test_file"], base_dir), "y_test_file"))
    return _split(x, y, options)


def _load_npy(path: str, key: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise TfnasInputError(f"No file at {path!r} (data.{key}): give the path of a .npy file, relative to the config.")
    return np.load(path, allow_pickle=False)


def _csv(path: str, options: dict[str, Any]) -> tuple:
    """A header row, numeric feature columns and one label column (integer ids or float targets)."""
    with open(path) as f:
        header = [name.strip() for name in f.readline().strip().split(",")]
    label = options["label_column"]
    if label not in header:
        raise TfnasInputError(f"{path} has no column {label!r} (data.label_column); its columns are {header}.")
    try:
        table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    except ValueError as e:
        raise TfnasInputError(f"{path} must hold numbers only below its header row ({e}): encode text columns as numbers.") from e
    column = header.index(label)
    x = np.delete(table, column, axis=1).astype(np.float32)
    y = table[:, column]
    if np.all(np.equal(np.mod(y, 1), 0)) and options.get("task") != "regression":
        y = y.astype(np.int64)
    return _split(x, y, options)


def _image_folder(path: str, options: dict[str, Any]) -> tuple:
    """One sub-folder per class (Keras's `image_dataset_from_directory`), as `FileImages` read from disk on demand."""
    from tfnas.app.image_folder import read_image_folder

    images, y = read_image_folder(path, options.get("image_size"), options["color_mode"])
    return _split(images, y, options)


def _split(x: Any, y: np.ndarray, options: dict[str, Any]) -> tuple:
    """Holds out a seeded `test_split` (stratified for integer labels) of arrays, or of `FileImages`' file list."""
    from sklearn.model_selection import train_test_split

    if len(x) != len(y):
        raise TfnasInputError(f"x has {len(x)} samples but y has {len(y)}: they must match one to one.")
    if hasattr(x, "subset"):  # FileImages: split the file list; no image is read
        (train, y_train), (test, y_test) = _split(np.arange(len(x)), y, options)
        return (x.subset(train), y_train), (x.subset(test), y_test)
    fraction = float(options["test_split"])
    if not 0.0 < fraction < 1.0:
        raise TfnasInputError(f"data.test_split must be between 0 and 1 (exclusive). Received: {fraction!r}")
    stratify = None
    if np.issubdtype(y.dtype, np.integer):
        classes, counts = np.unique(y, return_counts=True)
        if counts.min() >= 2 and len(classes) <= fraction * len(y):
            stratify = y
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=fraction, random_state=options["seed"], stratify=stratify)
    return (x_train, y_train), (x_test, y_test)
