"""A small learnable 1-D data set for tests of the 1-D spaces and the supernet (no download, seconds to fit)."""

from __future__ import annotations

import numpy as np


def noisy_sines(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` signals of shape (40, 1) in three classes: sines of frequency 0.04, 0.12 or 0.3 at a random phase,
    plus Gaussian noise of sd 0.5; learnable by convs and global pooling. Returns `(x float32, y int class ids)`."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    frequency = np.array([0.04, 0.12, 0.3])[y][:, None]
    x = np.sin(2 * np.pi * frequency * np.arange(40) + rng.uniform(0, 2 * np.pi, (n, 1)))
    return (x + 0.5 * rng.normal(size=(n, 40)))[..., None].astype("float32"), y
