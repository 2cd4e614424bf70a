"""What each compression stage is measured by besides its quality (`Task.quality`): weight counts, bytes, sparsity."""

from __future__ import annotations

import gzip
from typing import Any

import numpy as np


def weight_stats(model: Any) -> dict[str, int]:
    """`params`, `nonzero_params` and `gzip_bytes` (gzip of the float32 weights) of a model."""
    weights = [np.asarray(w, dtype=np.float32) for w in model.get_weights()]
    flat = np.concatenate([w.reshape(-1) for w in weights]) if weights else np.zeros(0, np.float32)
    return {
        "params": int(flat.size),
        "nonzero_params": int(np.count_nonzero(flat)),
        "gzip_bytes": len(gzip.compress(flat.tobytes(), compresslevel=9)),
    }


def kernel_sparsity(model: Any, names: list[str] | None = None) -> dict[str, float]:
    """Share of exact zeros in each layer's kernel (`kernel` or `depthwise_kernel`), by layer name."""
    from tfnas.compress.bridge import own_weights

    result = {}
    for layer in model.layers:
        name = getattr(layer, "layer", layer).name  # TF-MOT wrappers hold the named layer
        if names is not None and name not in names:
            continue
        for weight in own_weights(layer):
            if weight.name.split("/")[-1].split(":")[0].endswith("kernel"):
                values = np.asarray(weight)
                result[name] = float(np.mean(values == 0.0))
                break
    return result
