"""Supernets for tests: every weight and batch-norm statistic differs per channel, so a wrong slice or mask shows."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfnas.oneshot import supernet_for


def perturbed_supernet(space: Any, seed: int = 0) -> Any:
    """The space's supernet with random per-channel weights and statistics.

    Kernels are scaled by their fan-in so that outputs stay of order 1
    through several stages; gammas sit around 1, moving variances in [0.5, 2].

    Args:
        space: A configured space the one-shot package covers.
        seed: Seed of the random values. Defaults to 0.
    """
    supernet = supernet_for(space)
    rng = np.random.default_rng(seed)
    for weight in supernet.weights:
        shape = tuple(weight.shape)
        if weight.path.endswith("moving_variance"):
            value = rng.uniform(0.5, 2.0, shape)
        elif weight.path.endswith("kernel"):
            value = rng.normal(0.0, 1.0, shape) / np.sqrt(np.prod(shape[:-1]) if shape[-1] > 1 else np.prod(shape[:-2]))
        else:
            value = rng.normal(0.0, 0.5, shape) + (1.0 if weight.path.endswith("gamma") else 0.0)
        weight.assign(value.astype("float32"))
    return supernet
