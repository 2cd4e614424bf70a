"""The metadata `tfnas.export` writes: the user's, with what the exported object says filled in.

`export(metadata=None)` writes metadata for phones (`target="litert"`) and
none for microcontrollers: TFLite Micro never reads the metadata buffer or
the zipped labels, so they would only take flash in the C array.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tfnas.metadata.spec import Metadata


def resolve(metadata: Any, target: str, exported: Any, source: str, representative_data: Any) -> Metadata | None:
    """The `Metadata` to write, or None.

    Args:
        metadata: None (on for "litert", off for "micro"), True, False, a
            `Metadata` or a dict of its fields.
        target: the export target.
        exported: what `export` was given (a search candidate's `metrics` and
            `hyperparameters` feed the description).
        source: what was converted, as the export report says it.
        representative_data: the float inputs the model was calibrated on; their
            range is the input range when none is given.
    """
    if metadata is False or metadata is None and target != "litert":
        return None
    meta = Metadata() if metadata is None or metadata is True else Metadata.from_any(metadata)
    changes: dict[str, Any] = {}
    if not meta.description:
        changes["description"] = description(exported, source)
    if meta.input_range is None and meta.mean is None and _first(representative_data) is not None:
        data = np.asarray(_first(representative_data), dtype=np.float64)
        if data.size:
            changes["input_range"] = (float(data.min()), float(data.max()))
    return dataclasses.replace(meta, **changes) if changes else meta


def description(exported: Any, source: str, limits: dict[str, Any] | None = None) -> str:
    """One paragraph on what tfnas found: the family, MACs, test accuracy and the search's limits, as far as known."""
    metrics = getattr(exported, "metrics", None)  # a Keras model's `metrics` is a list of metric objects
    values = getattr(exported, "hyperparameters", None)
    metrics = metrics if isinstance(metrics, dict) else {}
    values = values if isinstance(values, dict) else {}
    parts = [f"Made by tfnas from {source}."]
    if "family" in values:
        parts.append(f"Family: {values['family']}.")
    if "macs" in metrics:
        parts.append(f"{int(metrics['macs']):,} MACs.")
    if "params" in metrics:
        parts.append(f"{int(metrics['params']):,} parameters.")
    tests = {k: v for k, v in metrics.items() if k.startswith("test_")}
    if tests:
        parts.append("Test " + ", ".join(f"{k.removeprefix('test_')} {v:.4f}" for k, v in sorted(tests.items())) + ".")
    if limits:
        parts.append("Limits: " + ", ".join(f"{k} {v:,}" for k, v in limits.items()) + ".")
    return " ".join(parts)


def _first(data: Any) -> Any:
    """The first input's data (`representative_data` may be a list, one array per input)."""
    if isinstance(data, (list, tuple)):
        return data[0] if data else None
    return data
