"""Low-rank (truncated SVD) factorisation of large Dense layers.

`Dense(units)` on `n` inputs holds `n * units` weights; with `W ~ A @ B`
(rank r) it becomes `Dense(r, use_bias=False)` then `Dense(units)`, holding
`r * (n + units)` weights and as many MACs. Only layers where that saves at
least a quarter of the weights are factorised. The result is a Keras 3 model
(both new layers map to FULLY_CONNECTED ops in TFLite Micro), fine-tuned
afterwards like any other stage.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tfnas.compress.graph import layer_name
from tfnas.compress.graph import rebuild
from tfnas.errors import TfnasInputError

# Smallest kernel worth factorising, and the least share of weights a factorisation must save.
MIN_WEIGHTS = 1024
MIN_SAVING = 0.25


def rank_for(shape: tuple[int, int], rank: int | float) -> int:
    """The rank to keep for a (inputs, units) kernel: an int as is, a float as a share of min(shape)."""
    if isinstance(rank, bool) or not isinstance(rank, (int, float)) or rank <= 0 or (isinstance(rank, float) and rank >= 1):
        raise TfnasInputError(
            f"lowrank must be a rank (int >= 1) or a share of the full rank in (0, 1). Received: lowrank={rank!r}"
        )
    return int(rank) if isinstance(rank, int) else max(1, math.ceil(rank * min(shape)))


def plan_lowrank(model: Any, rank: int | float) -> tuple[dict[str, int], dict[str, str]]:
    """`({layer: rank} to factorise, {layer: why not})` over the model's Dense layers."""
    chosen, skipped = {}, {}
    for layer in model.layers:
        if type(layer).__name__ != "Dense":
            continue
        n, units = layer.kernel.shape
        r = rank_for((n, units), rank)
        saving = 1.0 - r * (n + units) / (n * units)
        if n * units < MIN_WEIGHTS:
            skipped[layer.name] = f"{n * units} weights, fewer than {MIN_WEIGHTS}"
        elif saving < MIN_SAVING:
            skipped[layer.name] = f"rank {r} would save only {saving:.0%} of its {n * units} weights"
        else:
            chosen[layer.name] = r
    return chosen, skipped


def factorize(model: Any, ranks: dict[str, int]) -> Any:
    """A Keras 3 copy of `model` whose Dense layers in `ranks` are split by truncated SVD.

    Args:
        model: A Keras 3 functional or Sequential model.
        ranks: `{dense layer name: rank}` from `plan_lowrank`.

    Returns:
        A new Keras 3 model: layer `name` becomes `name_lowrank` (no bias, no
        activation) followed by `name` (the original units, bias and activation).
    """
    import keras

    def make_layer(config: dict[str, Any]) -> Any:
        layer = keras.layers.deserialize({key: config[key] for key in ("module", "class_name", "config", "registered_name")})
        name = layer_name(config)
        if name not in ranks:
            return layer
        first = keras.layers.Dense(ranks[name], use_bias=False, name=f"{name}_lowrank")
        return lambda x: layer(first(x))

    factored = rebuild(model, keras, make_layer)
    originals = {layer.name: layer for layer in model.layers}
    for layer in factored.layers:
        source = originals.get(layer.name)
        if source is None or not source.weights:
            continue
        if layer.name in ranks:
            a, b = _svd_split(source.get_weights()[0], ranks[layer.name])
            factored.get_layer(f"{layer.name}_lowrank").set_weights([a])
            layer.set_weights([b, *source.get_weights()[1:]])
        else:
            layer.set_weights(source.get_weights())
    return factored


def _svd_split(kernel: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """`A (n, r)`, `B (r, units)` with `A @ B` the best rank-r approximation of `kernel`."""
    u, s, vt = np.linalg.svd(kernel, full_matrices=False)
    root = np.sqrt(s[:rank])
    return (u[:, :rank] * root).astype(np.float32), (root[:, None] * vt[:rank]).astype(np.float32)
