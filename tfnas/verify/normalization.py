"""The normalisation `tfnas.verify` applies to `x`, checked against the one the file's metadata states.

An app feeds the model `(raw - mean) / std` with the file's metadata mean and
std. `verify` feeds `x` as given by default, so `x` must already be what
the model takes; `normalization="metadata"` applies the file's own mean and
std (x is then raw, as the app has it), and `normalization=(mean, std)`
applies the given pair, which must be the file's when it states one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfnas.errors import TfnasInputError
from tfnas.metadata.spec import Metadata


def model_inputs(x: np.ndarray, meta: Metadata | None, normalization: Any, path: str) -> tuple[np.ndarray, str]:
    """`x` as the model takes it, and what was applied ("none", or the mean and std and where they came from).

    Raises:
        TfnasInputError: `normalization` contradicts the file's metadata, asks
            for the metadata's when the file states none, or (given none) `x`
            lies far outside the input range the metadata states.
    """
    if normalization is None:
        _check_range(x, meta, path)
        return x, "none"
    if isinstance(normalization, str):
        if normalization != "metadata":
            raise TfnasInputError(f"normalization must be None, 'metadata' or (mean, std). Received: {normalization!r}")
        if meta is None or meta.mean is None or meta.std is None:
            raise TfnasInputError(
                f"normalization='metadata' but {path!r} states no normalisation in its metadata: pass x as the model "
                "takes it (normalization=None) or give (mean, std)."
            )
        return _apply(x, meta.mean, meta.std), f"metadata: (x - {meta.mean}) / {meta.std}"
    try:
        mean, std = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in normalization)
    except (TypeError, ValueError):
        raise TfnasInputError(f"normalization must be None, 'metadata' or (mean, std). Received: {normalization!r}") from None
    if meta is not None and not _same(meta, mean, std):
        stated = "none (raw values)" if meta.mean is None else f"mean {meta.mean}, std {meta.std}"
        raise TfnasInputError(
            f"normalization=({mean.tolist()}, {std.tolist()}) contradicts the metadata of {path!r}, which states {stated}: "
            "an app would feed the model differently from this check. Pass normalization='metadata', or re-export "
            "the file with the normalisation the model was trained with."
        )
    return _apply(x, mean.tolist(), std.tolist()), f"given: (x - {mean.tolist()}) / {std.tolist()}"


def _same(meta: Metadata, mean: np.ndarray, std: np.ndarray) -> bool:
    """Whether (mean, std) is the metadata's normalisation (identity counts as the same as none stated)."""
    if meta.mean is None or meta.std is None:
        return bool(np.all(mean == 0.0) and np.all(std == 1.0))
    try:
        return bool(np.allclose(np.broadcast_to(mean, np.broadcast_shapes(mean.shape, (len(meta.mean),))), meta.mean)
                    and np.allclose(np.broadcast_to(std, np.broadcast_shapes(std.shape, (len(meta.std),))), meta.std))
    except ValueError:
        return False


def _apply(x: np.ndarray, mean: list[float], std: list[float]) -> np.ndarray:
    return ((x - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)).astype(np.float32)


def _check_range(x: np.ndarray, meta: Metadata | None, path: str) -> None:
    """Raises when x lies outside the stated input range by more than the range's own width (e.g. [0, 255] for [0, 1])."""
    if meta is None or meta.input_range is None or x.size == 0:
        return
    low, high = meta.input_range
    span = max(high - low, 1e-6)
    if float(x.min()) < low - span or float(x.max()) > high + span:
        how = "" if meta.mean is None else f" (an app normalises raw input as (raw - {meta.mean}) / {meta.std})"
        raise TfnasInputError(
            f"x spans [{float(x.min()):g}, {float(x.max()):g}] but the metadata of {path!r} says the model takes values "
            f"in [{low:g}, {high:g}]{how}: pass x as the model takes it, or normalization='metadata' to apply the file's."
        )
