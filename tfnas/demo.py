"""Built-in demo data, readable offline: scikit-learn's digits and MNIST-1D."""

from __future__ import annotations

import numpy as np


def load_digits_images(test_size: float = 0.25, random_state: int = 0) -> tuple:
    """scikit-learn's 8x8 digits as `(n, 8, 8, 1)` float32 images in [0, 1].

    Returns:
        `(x_train, y_train), (x_test, y_test)`, split with
        `train_test_split(test_size=0.25, random_state=0)`.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images[..., None] / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=test_size, random_state=random_state)
    return (x_train, y_train), (x_test, y_test)


def load_mnist1d() -> tuple:
    """MNIST-1D (Greydanus 2020) generated offline: `(n, 40, 1)` signals, 4000 train / 1000 test.

    Needs the `mnist1d` package (in the `test` extra).
    """
    from mnist1d.data import get_dataset_args
    from mnist1d.data import make_dataset

    data = make_dataset(get_dataset_args())
    x_train = data["x"][..., None].astype(np.float32)
    x_test = data["x_test"][..., None].astype(np.float32)
    return (x_train, data["y"].astype(np.int64)), (x_test, data["y_test"].astype(np.int64))
